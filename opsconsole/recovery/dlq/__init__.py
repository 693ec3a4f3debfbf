"""Dead-letter queues: the inbox, looking without taking, snapshots, search, send back, delete."""
