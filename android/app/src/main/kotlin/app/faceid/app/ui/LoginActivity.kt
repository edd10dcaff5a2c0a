package app.faceid.app.ui

import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.ProgressBar
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.vm.LoginViewModel
import kotlinx.coroutines.launch

/** Server address (pre-filled by the customer's configuration) and login. */
class LoginActivity : BaseActivity() {
    private lateinit var vm: LoginViewModel

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_login)
        vm = LoginViewModel { url ->
            app.settings.serverUrl = url
            app.core.client() ?: error("no server address")
        }
        val server = view<EditText>(R.id.server)
        server.setText(app.settings.serverUrl ?: getString(R.string.default_server_url))
        val login = view<EditText>(R.id.login)
        val password = view<EditText>(R.id.password)
        val button = view<Button>(R.id.sign_in)
        val progress = view<ProgressBar>(R.id.progress)
        val error = view<TextView>(R.id.error)
        vm.state.observe { state ->
            progress.visibility = if (state is LoginViewModel.State.Busy) View.VISIBLE else View.GONE
            button.isEnabled = state !is LoginViewModel.State.Busy
            error.text = (state as? LoginViewModel.State.Failed)?.let { message(it) } ?: ""
            if (state is LoginViewModel.State.LoggedIn) finish()
        }
        button.setOnClickListener {
            scope.launch { vm.login(server.text.toString(), login.text.toString(), password.text.toString()) }
        }
    }

    private fun message(failed: LoginViewModel.State.Failed): String = when (failed.problem) {
        LoginViewModel.Problem.BAD_ADDRESS -> getString(R.string.error_bad_address)
        LoginViewModel.Problem.WRONG_CREDENTIALS -> getString(R.string.error_credentials)
        LoginViewModel.Problem.NETWORK -> getString(R.string.error_network)
        LoginViewModel.Problem.BLOCKED -> getString(R.string.error_blocked)
        LoginViewModel.Problem.OTHER -> getString(R.string.error_other, failed.detail)
    }
}
