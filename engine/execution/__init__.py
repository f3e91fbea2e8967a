"""How a command runs: the command table, the clients commands come from, and ``call()``.

:mod:`.registry` (the table the command families register into), :mod:`.client`
(a connection: parse, execute, reply; also the fake clients of scripts, the AOF
loader and the master link), :mod:`.dispatch` (``processCommand``'s checks and the
one execution core, ``call``), :mod:`.loading` (the AOF loader's runs of commands,
``cmd->proc`` outside ``call``), :mod:`.blocking` (clients blocked on keys),
:mod:`.obuf` (output-buffer limits). Nothing here imports the command families,
scripting, persistence or replication: what it needs from the server is reached
through the client's ``server`` attribute (see ``engine/README.md``, Layers).
"""
