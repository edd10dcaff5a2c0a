package app.faceid.app.core

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.NetworkRequest

/**
 * Tells the core when the device's network comes back, so queued punches and points go at once
 * instead of waiting out their backoff.
 */
class NetworkMonitor(private val context: Context, private val onAvailable: () -> Unit) {
    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) {
            onAvailable.invoke()
        }
    }
    private var registered = false

    fun start() {
        if (registered) return
        val manager = context.getSystemService(ConnectivityManager::class.java) ?: return
        val request = NetworkRequest.Builder().addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET).build()
        manager.registerNetworkCallback(request, callback)
        registered = true
    }

    fun stop() {
        if (!registered) return
        context.getSystemService(ConnectivityManager::class.java)?.unregisterNetworkCallback(callback)
        registered = false
    }
}
