// Placeholder until the capture branch lands.
