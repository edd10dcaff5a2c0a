package app.faceid.app.vm

import app.faceid.app.vm.PermissionPlan.Ask
import org.junit.Assert.assertEquals
import org.junit.Test

class PermissionPlanTest {
    @Test
    fun `foreground first, background only after it and only with the policy on`() {
        assertEquals(Ask.FOREGROUND, PermissionPlan.next(false, false, trackingPolicyOn = true, sdk = 35))
        assertEquals(Ask.FOREGROUND, PermissionPlan.next(false, true, trackingPolicyOn = true, sdk = 35))
        assertEquals(Ask.BACKGROUND, PermissionPlan.next(true, false, trackingPolicyOn = true, sdk = 35))
        assertEquals(Ask.NOTHING, PermissionPlan.next(true, false, trackingPolicyOn = false, sdk = 35))
        assertEquals(Ask.NOTHING, PermissionPlan.next(true, true, trackingPolicyOn = true, sdk = 35))
        assertEquals("Android 9 has no separate background permission", Ask.NOTHING, PermissionPlan.next(true, false, true, sdk = 28))
    }
}
