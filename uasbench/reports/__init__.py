"""Reference numbers printed in the papers, for comparing reproduced results."""
