package app.faceid.app.camera

import android.annotation.SuppressLint
import android.content.Context
import android.graphics.ImageFormat
import android.graphics.SurfaceTexture
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.hardware.camera2.params.OutputConfiguration
import android.hardware.camera2.params.SessionConfiguration
import android.media.ImageReader
import android.os.Handler
import android.os.HandlerThread
import android.view.Surface
import android.view.TextureView
import app.faceid.core.CameraFrame
import app.faceid.core.FrameFormat
import java.util.concurrent.Executor

/**
 * Camera2: the front camera's preview on [preview] and 640x480 YUV frames, repacked as NV21
 * core frames, to [onFrame] on a background thread (the detector runs there). A frame arriving
 * while the previous one is still being analysed is dropped.
 */
class FrontCamera(private val context: Context, private val onFrame: (CameraFrame) -> Unit) {
    private val thread = HandlerThread("camera").apply { start() }
    private val handler = Handler(thread.looper)
    private val executor = Executor { handler.post(it) }
    private var device: CameraDevice? = null
    private var session: CameraCaptureSession? = null
    private val reader = ImageReader.newInstance(WIDTH, HEIGHT, ImageFormat.YUV_420_888, 2)
    private var rotation = 0

    /** The front camera's id, or the first camera's when there is no front one. */
    fun cameraId(manager: CameraManager): String? = manager.cameraIdList.firstOrNull {
        manager.getCameraCharacteristics(it).get(CameraCharacteristics.LENS_FACING) == CameraCharacteristics.LENS_FACING_FRONT
    } ?: manager.cameraIdList.firstOrNull()

    /** Opens on [preview]'s surface now, or as soon as it is available. */
    fun attach(preview: TextureView) {
        if (preview.isAvailable) {
            open(preview.surfaceTexture)
            return
        }
        preview.surfaceTextureListener = object : TextureView.SurfaceTextureListener {
            override fun onSurfaceTextureAvailable(s: SurfaceTexture, w: Int, h: Int) = open(s)
            override fun onSurfaceTextureSizeChanged(s: SurfaceTexture, w: Int, h: Int) {}
            override fun onSurfaceTextureDestroyed(s: SurfaceTexture) = true
            override fun onSurfaceTextureUpdated(s: SurfaceTexture) {}
        }
    }

    @SuppressLint("MissingPermission") // the screen asks for CAMERA before opening
    fun open(preview: SurfaceTexture?) {
        val manager = context.getSystemService(CameraManager::class.java) ?: return
        val id = cameraId(manager) ?: return
        rotation = manager.getCameraCharacteristics(id).get(CameraCharacteristics.SENSOR_ORIENTATION) ?: 0
        reader.setOnImageAvailableListener({ r ->
            val image = r.acquireLatestImage() ?: return@setOnImageAvailableListener
            val bytes = image.use {
                val p = it.planes
                Nv21.fromYuv420(
                    it.width, it.height,
                    Nv21.Plane(p[0].buffer, p[0].rowStride, p[0].pixelStride),
                    Nv21.Plane(p[1].buffer, p[1].rowStride, p[1].pixelStride),
                    Nv21.Plane(p[2].buffer, p[2].rowStride, p[2].pixelStride),
                )
            }
            onFrame(
                CameraFrame(bytes, WIDTH.toUInt(), HEIGHT.toUInt(), WIDTH.toUInt(), FrameFormat.NV21, rotation.toUInt(), System.currentTimeMillis().toULong()),
            )
        }, handler)
        manager.openCamera(id, executor, object : CameraDevice.StateCallback() {
            override fun onOpened(camera: CameraDevice) {
                device = camera
                startSession(camera, preview)
            }

            override fun onDisconnected(camera: CameraDevice) = camera.close()
            override fun onError(camera: CameraDevice, error: Int) = camera.close()
        })
    }

    private fun startSession(camera: CameraDevice, preview: SurfaceTexture?) {
        val surfaces = mutableListOf(reader.surface)
        preview?.let { it.setDefaultBufferSize(WIDTH, HEIGHT); surfaces += Surface(it) }
        val request = camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW).apply { surfaces.forEach(::addTarget) }.build()
        camera.createCaptureSession(
            SessionConfiguration(
                SessionConfiguration.SESSION_REGULAR,
                surfaces.map { OutputConfiguration(it) },
                executor,
                object : CameraCaptureSession.StateCallback() {
                    override fun onConfigured(s: CameraCaptureSession) {
                        session = s
                        s.setRepeatingRequest(request, null, handler)
                    }

                    override fun onConfigureFailed(s: CameraCaptureSession) = s.close()
                },
            ),
        )
    }

    fun close() {
        session?.close()
        device?.close()
        reader.close()
        thread.quitSafely()
    }

    companion object {
        const val WIDTH = 640
        const val HEIGHT = 480
    }
}
