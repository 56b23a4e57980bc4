"""Lets the host import the firmware's shared modules (`wire`). Not deployed: the board imports files flat."""
