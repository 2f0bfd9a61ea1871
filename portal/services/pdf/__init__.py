"""PDF documents (DESIGN §7): ``render`` lays out HTML with WeasyPrint and never fetches
from the network; ``qr`` draws links as QR codes; one module per document builds its
plain data and renders it (``blank_form``, ``filled_response``; later the callback
summary, the sales visit record and the quarterly report each add one)."""
