package app.faceid.app.ui

import android.graphics.Bitmap
import android.graphics.Color
import io.nayuki.qrcodegen.QrCode

/** A QR code drawn on a framework Bitmap (io.nayuki:qrcodegen encodes; no AndroidX, no zxing). */
object QrImage {
    /** [text] as a QR code, [scale] pixels per module, [border] modules of quiet zone. */
    fun of(text: String, scale: Int = 8, border: Int = 4): Bitmap {
        val qr = QrCode.encodeText(text, QrCode.Ecc.MEDIUM)
        val side = (qr.size + 2 * border) * scale
        val pixels = IntArray(side * side) { i ->
            val x = (i % side) / scale - border
            val y = (i / side) / scale - border
            if (qr.getModule(x, y)) Color.BLACK else Color.WHITE
        }
        return Bitmap.createBitmap(pixels, side, side, Bitmap.Config.ARGB_8888)
    }
}
