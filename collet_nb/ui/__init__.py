"""Views and entry points: magics, widgets, the comm bridge, the plain-text renderer."""
