"""The callback desk (DESIGN §4.3): seeded sampling per priority, the agents' call queue with
every attempt, the callback form, and the quarter's callback summary."""
