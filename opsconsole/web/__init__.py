"""What every page and endpoint shares: request typing, problem responses, masking, CSV,
formatting, pagination and the registries features plug themselves into."""
