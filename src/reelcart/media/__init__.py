"""Images and clips: what reelcart asks of media on the network (safe fetching)."""
