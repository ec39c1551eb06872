"""What the application needs from the world, as Protocols: storage, clock, ids."""
