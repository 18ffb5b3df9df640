"""The command line interface (`slipstream`)."""
