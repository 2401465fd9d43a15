#include "veil_qr.h"
#include <stddef.h>
#include <qrencode.h>

int veil_qr_encode(const char *text, unsigned char *out, int capacity, int *width) {
    QRcode *code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (code == NULL) return -1;
    int side = code->width;
    if (side <= 0 || side * side > capacity) {
        QRcode_free(code);
        return -1;
    }
    for (int i = 0; i < side * side; i++) out[i] = code->data[i] & 1;
    *width = side;
    QRcode_free(code);
    return 0;
}
