"""Quality: inspectors that judge each unit before it ships."""
