"""microfactory: sell online, make locally."""
