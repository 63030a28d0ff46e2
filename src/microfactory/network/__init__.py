"""The microfactory network: where each work order is made, and when it ships."""
