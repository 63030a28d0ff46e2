"""Production: the site's machines and the edge agent that drives them."""
