"""Live control: a registry of live parameters, MIDI mapping files, and MIDI input routing."""
