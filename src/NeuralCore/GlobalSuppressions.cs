using System.Diagnostics.CodeAnalysis;

// RS0026/RS0027 guard against adding an overload with optional parameters to a *shipped* API, where it can change
// which overload existing call sites bind to. These constructor pairs are part of the first release and are not
// ambiguous: the short form takes the configuration (units, rate or nothing), the long form adds a leading input size
// and builds the layer; every call binds to the overload it names. The rules stay on for every other symbol.
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
    Justification = "Unambiguous first-release overload pair; see the comment above.",
    Scope = "member", Target = "~M:NeuralCore.Layers.Dense.#ctor(System.Int32,System.String)")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
    Justification = "Unambiguous first-release overload pair; see the comment above.",
    Scope = "member", Target = "~M:NeuralCore.Layers.Dense.#ctor(System.Int32,System.Int32,System.UInt64,System.String)")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
    Justification = "Unambiguous first-release overload pair; see the comment above.",
    Scope = "member", Target = "~M:NeuralCore.Layers.Dropout.#ctor(System.Single,System.String)")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
    Justification = "Unambiguous first-release overload pair; see the comment above.",
    Scope = "member", Target = "~M:NeuralCore.Layers.Dropout.#ctor(System.Int32,System.Single,System.UInt64,System.String)")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
    Justification = "Unambiguous first-release overload pair; see the comment above.",
    Scope = "member", Target = "~M:NeuralCore.Layers.Relu.#ctor(System.String)")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
    Justification = "Unambiguous first-release overload pair; see the comment above.",
    Scope = "member", Target = "~M:NeuralCore.Layers.Relu.#ctor(System.Int32,System.String)")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
    Justification = "Unambiguous first-release overload pair; see the comment above.",
    Scope = "member", Target = "~M:NeuralCore.Layers.Softmax.#ctor(System.String)")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
    Justification = "Unambiguous first-release overload pair; see the comment above.",
    Scope = "member", Target = "~M:NeuralCore.Layers.Softmax.#ctor(System.Int32,System.String)")]

// Adam(AdamOptions? options = null) and Adam(float learningRate): the options overload is the full form; the
// learning-rate one is a shorthand with a different parameter type, so neither call can bind to the other.
[assembly: SuppressMessage("ApiDesign", "RS0027:API with optional parameter(s) should have the most parameters amongst its public overloads",
    Justification = "Adam(AdamOptions?) is the full form; Adam(float) is a shorthand with a different parameter type.",
    Scope = "member", Target = "~M:NeuralCore.Optimizers.Adam.#ctor(NeuralCore.Optimizers.AdamOptions)")]
