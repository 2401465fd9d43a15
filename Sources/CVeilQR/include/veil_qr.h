#ifndef VEIL_QR_H
#define VEIL_QR_H

/// Encodes `text` as a QR code (error correction level M, version chosen by libqrencode) and
/// writes its modules to `out`, row by row, one byte per module: 1 dark, 0 light. `*width`
/// receives the side length. Returns 0 on success, -1 when encoding fails or the code does not
/// fit in `capacity` bytes.
int veil_qr_encode(const char *text, unsigned char *out, int capacity, int *width);

#endif
