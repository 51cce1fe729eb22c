"""Product carbon footprint: emission factors, activity data, roll-up, targets, PACT exchange."""

# Monte Carlo defaults (carbon.uncertainty), here so that the command line reads them without
# importing numpy.
DRAWS = 10_000
SEED = 2026
