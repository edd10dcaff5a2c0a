package app.faceid.app.ui

import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.ProgressBar
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.vm.PasswordViewModel
import kotlinx.coroutines.launch

/**
 * The forced password change: the home screen sends the user here while their account's
 * password is one an administrator chose, and nothing else opens until it is changed (back
 * leaves the app instead of going around it).
 */
class PasswordActivity : BaseActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_password)
        val client = runCatching { app.core.client() }.getOrNull() ?: return finish()
        val vm = PasswordViewModel(client)
        val current = view<EditText>(R.id.current_password)
        val new = view<EditText>(R.id.new_password)
        val repeat = view<EditText>(R.id.repeat_password)
        val button = view<Button>(R.id.change_password)
        val progress = view<ProgressBar>(R.id.progress)
        val error = view<TextView>(R.id.error)
        vm.state.observe { state ->
            progress.visibility = if (state is PasswordViewModel.State.Busy) View.VISIBLE else View.GONE
            button.isEnabled = state !is PasswordViewModel.State.Busy
            error.text = (state as? PasswordViewModel.State.Failed)?.let { message(it) } ?: ""
            if (state is PasswordViewModel.State.Changed) finish()
        }
        button.setOnClickListener {
            scope.launch { vm.change(current.text.toString(), new.text.toString(), repeat.text.toString()) }
        }
    }

    @Deprecated("Deprecated in Java")
    override fun onBackPressed() {
        moveTaskToBack(true)
    }

    private fun message(failed: PasswordViewModel.State.Failed): String = when (failed.problem) {
        PasswordViewModel.Problem.MISMATCH -> getString(R.string.password_mismatch)
        PasswordViewModel.Problem.TOO_SHORT -> getString(R.string.password_too_short, PasswordViewModel.MIN_LENGTH)
        PasswordViewModel.Problem.SAME -> getString(R.string.password_same)
        PasswordViewModel.Problem.WRONG_CURRENT -> getString(R.string.password_wrong_current)
        PasswordViewModel.Problem.NETWORK -> getString(R.string.error_network)
        PasswordViewModel.Problem.OTHER -> getString(R.string.error_other, failed.detail)
    }
}
