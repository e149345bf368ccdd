"""VK access: transport, token pool, rate limiter, execute batching, emulator."""
