package app.faceid.app.ui

import android.app.Activity
import android.app.AlertDialog
import android.content.Intent
import android.net.Uri
import android.os.PowerManager
import android.provider.Settings
import app.faceid.app.R
import app.faceid.app.core.AppSettings

/** Asks once, with an explanation, to exempt the app from battery optimisation (Doze). */
object BatteryExemption {
    fun askOnce(activity: Activity, settings: AppSettings) {
        if (settings.batteryExemptionAsked) return
        val power = activity.getSystemService(PowerManager::class.java) ?: return
        if (power.isIgnoringBatteryOptimizations(activity.packageName)) return
        settings.batteryExemptionAsked = true
        AlertDialog.Builder(activity)
            .setMessage(R.string.battery_explanation)
            .setPositiveButton(android.R.string.ok) { _, _ ->
                activity.startActivity(
                    Intent(Settings.ACTION_REQUEST_IGNORE_BATTERY_OPTIMIZATIONS, Uri.parse("package:${activity.packageName}")),
                )
            }
            .setNegativeButton(android.R.string.cancel, null)
            .show()
    }
}
