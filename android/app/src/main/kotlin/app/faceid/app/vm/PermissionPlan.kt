package app.faceid.app.vm

/**
 * Which location permission to ask for next. Android 10+ refuses background location asked
 * together with foreground location, and it must only be asked when the employee's tracking
 * policy needs it: foreground first, background only after it and only with the policy on.
 */
object PermissionPlan {
    enum class Ask { FOREGROUND, BACKGROUND, NOTHING }

    fun next(foregroundGranted: Boolean, backgroundGranted: Boolean, trackingPolicyOn: Boolean, sdk: Int): Ask = when {
        !foregroundGranted -> Ask.FOREGROUND
        !trackingPolicyOn -> Ask.NOTHING
        sdk >= 29 && !backgroundGranted -> Ask.BACKGROUND
        else -> Ask.NOTHING
    }
}
