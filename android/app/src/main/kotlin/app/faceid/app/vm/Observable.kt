package app.faceid.app.vm

/**
 * A value screens observe: the view-models are plain Kotlin (tested on the JVM), so they have
 * no LiveData; a screen subscribes in onStart and unsubscribes in onStop. Not thread-safe by
 * design: view-models change it on the thread their screen calls them on (the main thread).
 */
class Observable<T>(initial: T) {
    private val observers = mutableListOf<(T) -> Unit>()

    var value: T = initial
        set(v) {
            field = v
            observers.toList().forEach { it(v) }
        }

    fun observe(observer: (T) -> Unit): () -> Unit {
        observers += observer
        observer(value)
        return { observers -= observer }
    }
}
