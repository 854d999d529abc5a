"""What to play: scenario files, agencies, arrivals, the seeded schedule and the checked plan."""
