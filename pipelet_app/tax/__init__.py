"""The app side of tax equity: SPV books from the database into `domain.tax`, and back out as PDFs.

`books.load_books` builds the domain's `SpvBooks` from the tables; `returns` computes a year's return,
drives draft -> released -> filed with an audit trail, and hands out the K-1 PDFs (stored byte for
byte once released). `tin` keeps partners' TINs encrypted at rest. The domain stays pure; nothing
here computes a tax figure itself.
"""
