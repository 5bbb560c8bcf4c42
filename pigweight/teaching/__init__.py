"""Teaching the counter: the labelling queue, the farm's models, fine-tunes (issue 19)."""
