"""The message pipeline: accounts, money, routing, carriers, receipts, on top of the SMPP transport."""
