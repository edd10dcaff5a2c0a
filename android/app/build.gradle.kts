import java.util.Properties

// One flavour per white-label customer, read from ../customers/<name>.properties: the same
// files the Maven build applies (application id, app name, colours, default server URL).
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

val customers: Map<String, Properties> = file("../customers").listFiles { f -> f.name.endsWith(".properties") }!!
    .sortedBy { it.name }
    .associate { f -> f.name.removeSuffix(".properties") to Properties().apply { f.reader(Charsets.UTF_8).use(::load) } }

android {
    namespace = "app.faceid.app"
    compileSdk = 35

    defaultConfig {
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        // The ABIs build-native.sh builds libfaceid_ffi.so for (cargo-ndk).
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }

    flavorDimensions += "customer"
    productFlavors {
        customers.forEach { (name, p) ->
            create(name) {
                dimension = "customer"
                applicationId = p.getProperty("applicationId")
                resValue("string", "app_name", p.getProperty("appName"))
                resValue("string", "default_server_url", p.getProperty("defaultServerUrl"))
                resValue("color", "brand_primary", p.getProperty("colorPrimary"))
                resValue("color", "brand_accent", p.getProperty("colorAccent"))
            }
        }
    }

    sourceSets["main"].apply {
        kotlin.srcDirs("src/main/kotlin", "src/main/generated")
        jniLibs.srcDirs("src/main/jniLibs")
        // The face models, staged (verified) by tools/stage-models.sh: assets/models/.
        assets.srcDirs(layout.buildDirectory.dir("generated/model-assets"))
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    testOptions { unitTests { isIncludeAndroidResources = true } }
}

// The face models from the model cache (`bash models/fetch.sh`; -PfaceidModelDir=... to override),
// checked against models/manifest.toml, as the Maven build does.
val stageModels by tasks.registering(Exec::class) {
    val modelDir = (findProperty("faceidModelDir") ?: "../../models/cache").toString()
    commandLine("bash", "../tools/stage-models.sh", modelDir, layout.buildDirectory.dir("generated/model-assets/models").get().asFile.path)
}
tasks.named("preBuild") { dependsOn(stageModels) }

dependencies {
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("androidx.annotation:annotation-jvm:1.11.0")
    implementation("io.nayuki:qrcodegen:1.8.0")
    testImplementation("junit:junit:4.13.2")
    testImplementation("org.robolectric:robolectric:4.17")
    testImplementation("androidx.test:core:1.7.0")
}
