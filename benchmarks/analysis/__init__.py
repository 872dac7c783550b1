"""Reading a finished grid: the leaderboard and its rule for best, findings,
carried-over figures, and the regression comparison."""
