"""What a script sees through ``import greenws``: thin wrappers over the runtime."""
