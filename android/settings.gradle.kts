// The Gradle build of the app, for machines with Google's Maven repository and the Android SDK
// (this repository's CI builds the same sources with pom.xml instead; see README.md).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "faceid-android"
include(":app")
