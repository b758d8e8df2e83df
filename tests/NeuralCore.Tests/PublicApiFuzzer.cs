using System.Net;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Training;

namespace NeuralCore.Tests;

/// <summary>
/// Calls every public constructor, method and property setter of the given assemblies with one bad argument at a time
/// (null, empty or wrong-length buffers, negative, zero, huge and non-finite numbers, undefined enum values), the others
/// valid-looking, and records each call whose outcome is not a refusal that names the parameter (or an
/// exception of a documented contract kind). A fresh receiver and fresh arguments are made for every call, so no call
/// sees another's state.
/// </summary>
internal sealed class PublicApiFuzzer : IDisposable
{
    /// <summary>
    /// Members not called, each with why. Kept short: everything else runs, and a member added to the library is fuzzed
    /// without a line here.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Skipped = new Dictionary<string, string>
    {
        // A value it accepts would change the parallelism of every test running beside this one.
        ["NeuralCore.Parallelism.set_DegreeOfParallelism"] = "process-wide setting shared with the tests running beside this one",
        // Their explicit folder defaults to null, and without one they search the repository and the user's cache
        // folder, and may download MNIST there.
        ["NeuralCore.Data.MnistLocator.LoadAsync"] = "searches the repository and the user's cache folder, may download",
        ["NeuralCore.Data.MnistLocator.ResolveAsync"] = "searches the repository and the user's cache folder, may download",
        ["NeuralCore.Data.FashionMnist.LoadAsync"] = "searches the repository and the user's cache folder, may download",
        ["NeuralCore.Data.FashionMnist.ResolveAsync"] = "searches the repository and the user's cache folder, may download",
    };

    /// <summary>
    /// Members called only with a bad argument, never with all-valid ones: a valid call would register a component in
    /// the process-wide registry that other tests enumerate.
    /// </summary>
    private static readonly HashSet<string> NoValidCall =
    [
        "NeuralCore.Configuration.ComponentRegistry.RegisterLayer",
        "NeuralCore.Configuration.ComponentRegistry.RegisterLoss",
        "NeuralCore.Configuration.ComponentRegistry.RegisterOptimizer",
        "NeuralCore.Onnx.OnnxExport.Register",
        "NeuralCore.Onnx.OnnxImport.Register",
    ];

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly string folder = Directory.CreateTempSubdirectory("neuralcore-fuzz-").FullName;
    private readonly NullabilityInfoContext nullability = new();
    private readonly List<string> failures = [];

    public int Members { get; private set; }

    public int Calls { get; private set; }

    public IReadOnlyList<string> Failures => failures;

    /// <summary>Members whose valid-looking call was itself refused, so that their bad arguments were judged less strictly.</summary>
    public IReadOnlyList<string> RefusedValidCalls => refusedValidCalls;

    private readonly List<string> refusedValidCalls = [];

    private readonly HashSet<string> skipsUsed = [];

    /// <summary>Skip-list entries that matched no member: a renamed member would otherwise leave a stale line.</summary>
    public IEnumerable<string> UnusedSkips => Skipped.Keys.Except(skipsUsed);

    public void Dispose() => Directory.Delete(folder, recursive: true);

    public void Run(IEnumerable<Assembly> assemblies)
    {
        foreach (Type type in assemblies.SelectMany(a => a.GetExportedTypes()).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            if (type.ContainsGenericParameters || type.IsInterface || typeof(Delegate).IsAssignableFrom(type) || type.IsEnum)
            {
                continue;
            }

            var members = new List<MethodBase>();
            if (!type.IsAbstract)
            {
                members.AddRange(type.GetConstructors());
            }

            members.AddRange(type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Where(m => !m.IsAbstract && !m.ContainsGenericParameters && !m.IsDefined(typeof(CompilerGeneratedAttribute))
                    && !(m.IsSpecialName && m.Name.StartsWith("op_", StringComparison.Ordinal))
                    && m.Name is not ("Equals" or "Deconstruct")));
            foreach (MethodBase member in members.Where(m => m.GetParameters().Length > 0).OrderBy(Signature, StringComparer.Ordinal))
            {
                string key = $"{type.FullName}.{member.Name}";
                if (Skipped.ContainsKey(key))
                {
                    skipsUsed.Add(key);
                }
                else
                {
                    Fuzz(member);
                }
            }
        }
    }

    private void Fuzz(MethodBase member)
    {
        Members++;
        string signature = Signature(member);
        Func<object?, object?[], object?> invoke;
        try
        {
            invoke = Invoker(member);
        }
        catch (Exception e) when (e is InvalidProgramException or NotSupportedException or ArgumentException)
        {
            failures.Add($"{signature}: cannot be called by the fuzzer ({e.GetType().Name}: {e.Message})");
            return;
        }

        ParameterInfo[] parameters = member.GetParameters();
        Exception? baseline = null;
        if (!NoValidCall.Contains($"{member.DeclaringType!.FullName}.{member.Name}"))
        {
            baseline = Call(member, invoke, -1, null, out bool hung);
            if (hung || (baseline is not null && !Allowed(baseline)))
            {
                failures.Add($"{signature} with valid-looking arguments: {Describe(baseline, hung)}");
            }
            else if (baseline is ArgumentException)
            {
                refusedValidCalls.Add($"{signature}: {baseline.Message.ReplaceLineEndings(" ")}");
            }
        }

        for (int i = 0; i < parameters.Length; i++)
        {
            foreach ((string label, object? value, bool shape) in Bad(parameters[i]))
            {
                Exception? e = Call(member, invoke, i, value, out bool hung);
                if (hung || (e is not null && !Accepted(e, member, parameters[i], value is null, shape, baseline)))
                {
                    failures.Add($"{signature} [{parameters[i].Name} = {label}]: {Describe(e, hung)}");
                }
            }
        }
    }

    private Exception? Call(MethodBase member, Func<object?, object?[], object?> invoke, int bad, object? badValue, out bool hung)
    {
        Calls++;
        Exception? thrown = null;
        var task = Task.Run(() =>
        {
            try
            {
                object? receiver = member.IsStatic || member is ConstructorInfo ? null : Make(member.DeclaringType!);
                ParameterInfo[] parameters = member.GetParameters();
                object?[] arguments = new object?[parameters.Length];
                for (int i = 0; i < parameters.Length; i++)
                {
                    arguments[i] = i == bad ? badValue : Valid(parameters[i]);
                }

                object? result = invoke(receiver, arguments);
                if (result is Task pending)
                {
                    pending.GetAwaiter().GetResult();
                }

                (result as IDisposable)?.Dispose();
            }
            catch (Exception e)
            {
                thrown = e;
            }
        });
        hung = !task.Wait(Timeout);
        return thrown;
    }

    private static string Describe(Exception? e, bool hung)
    {
        if (hung)
        {
            return $"no answer within {Timeout.TotalSeconds} s";
        }

        string where = e!.StackTrace?.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
        string inner = e is SetupException { InnerException: { } cause } ? $" [{cause.GetType().Name}: {cause.Message}]" : "";
        return $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}{inner} ({where})";
    }

    /// <summary>The exceptions a documented contract may throw whatever the argument; any other is a bug.</summary>
    private static bool Allowed(Exception e) =>
        e is ArgumentException or InvalidOperationException or NotSupportedException or IOException or FormatException
            or InvalidDataException or UnauthorizedAccessException
        || e.GetType() == typeof(InsufficientMemoryException);

    /// <summary>
    /// An argument exception must name the bad parameter (its ParamName or its message), or be the one the valid-looking
    /// call already got: when those arguments do not fit together, a bad one may be refused after them. A shape (a zero
    /// or huge count, a buffer of the wrong length) may be refused by naming another parameter it no longer fits, as
    /// <c>destination is too short</c> for a longer <c>x</c>; null, a negative or non-finite number, an undefined enum
    /// value or an empty name are that parameter's own error, and must name it. None of those is a reason for another
    /// kind of exception, unless the valid-looking call got the same kind (for a null, the same one) without it.
    /// </summary>
    private bool Accepted(Exception e, MethodBase member, ParameterInfo parameter, bool isNull, bool shape, Exception? baseline)
    {
        if (e is not ArgumentException argument)
        {
            // A null has to be refused as such; an empty name or an undefined or non-finite number may be passed on
            // to whatever the valid call also reached (a name used only in messages, then bad data).
            return isNull ? baseline is not null && baseline.GetType() == e.GetType() && baseline.Message == e.Message
                : !shape ? baseline is not null && baseline.GetType() == e.GetType()
                : Allowed(e);
        }

        IEnumerable<string> names = [parameter.Name!];
        if (member.IsSpecialName && member.Name.StartsWith("set_", StringComparison.Ordinal))
        {
            names = names.Append(member.Name[4..]);
        }

        if (parameter.ParameterType == typeof(LossTargets))
        {
            names = names.Concat(["labels", "values", "sampleWeights"]);
        }

        if (shape)
        {
            names = names.Concat(member.GetParameters().Select(p => p.Name!));
        }

        // A helper that checks on behalf of its caller (Names.Check, Loss.CheckTargets) reports under the caller's
        // parameter name, given to it.
        names = names.Concat(member.GetParameters()
            .Where(p => p.Name is "parameter" or "paramName" || (p.Name == "name" && member.Name.StartsWith("Check", StringComparison.Ordinal)))
            .Select(p => (string)Valid(p)!));
        if (names.Any(name => Names(argument, name)))
        {
            return true;
        }

        return baseline is ArgumentException before && before.GetType() == e.GetType()
            && ((before.ParamName is not null && before.ParamName == argument.ParamName) || before.Message == argument.Message);
    }

    /// <summary>Whether the exception names <paramref name="name"/>, as written or in Keras's snake_case (<c>min_value</c>).</summary>
    private static bool Names(ArgumentException e, string name) =>
        string.Equals(e.ParamName, name, StringComparison.OrdinalIgnoreCase)
        || Regex.IsMatch(e.Message, $@"(?<![A-Za-z0-9_])({Regex.Escape(name)}|{Regex.Escape(Snake(name))})(?![A-Za-z0-9_])", RegexOptions.IgnoreCase);

    private static string Snake(string name) => Regex.Replace(name, "(?<=[a-z0-9])([A-Z])", "_$1");

    public static string Signature(MethodBase member) =>
        $"{member.DeclaringType!.Name}.{member.Name}({string.Join(", ", member.GetParameters().Select(p => $"{TypeName(p.ParameterType)} {p.Name}"))})";

    private static string TypeName(Type type) => type.IsGenericType
        ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>"
        : type.Name;

    // ---- bad arguments ----

    private IEnumerable<(string Label, object? Value, bool Shape)> Bad(ParameterInfo parameter)
    {
        Type type = parameter.ParameterType.IsByRef ? parameter.ParameterType.GetElementType()! : parameter.ParameterType;
        if (!type.IsValueType && nullability.Create(parameter).WriteState != NullabilityState.Nullable)
        {
            yield return ("null", null, false);
        }

        Type underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(int))
        {
            yield return ("-1", -1, false);
            yield return ("0", 0, true);
            yield return ("int.MaxValue", int.MaxValue, true);
            yield return ("int.MinValue", int.MinValue, false);
        }
        else if (underlying == typeof(long))
        {
            yield return ("-1", -1L, false);
            yield return ("0", 0L, true);
            yield return ("int.MaxValue", (long)int.MaxValue, true);
            yield return ("long.MaxValue", long.MaxValue, true);
        }
        else if (underlying == typeof(ulong) || underlying == typeof(uint) || underlying == typeof(byte))
        {
            yield return ("0", Convert.ChangeType(0, underlying, null), true);
            yield return ("MaxValue", underlying.GetField("MaxValue")!.GetValue(null), true);
        }
        else if (underlying == typeof(float))
        {
            foreach (float value in (float[])[-1f, 0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue])
            {
                yield return (value.ToString(System.Globalization.CultureInfo.InvariantCulture), value, false);
            }
        }
        else if (underlying == typeof(double))
        {
            foreach (double value in (double[])[-1, 0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.MaxValue])
            {
                yield return (value.ToString(System.Globalization.CultureInfo.InvariantCulture), value, false);
            }
        }
        else if (underlying.IsEnum)
        {
            yield return ("undefined -1", Enum.ToObject(underlying, -1), false);
            yield return ("undefined 999", Enum.ToObject(underlying, 999), false);
        }
        else if (underlying == typeof(string))
        {
            yield return ("\"\"", "", false);
        }
        else if (underlying == typeof(LossTargets))
        {
            yield return ("default", new Targets(null, null, null), true);
            yield return ("no labels", new Targets([], null, null), true);
            yield return ("7 labels", new Targets(new int[7], null, null), true);
            yield return ("labels -1 and 99", new Targets([-1, 99], null, null), true);
            yield return ("7 values", new Targets(null, new float[7], null), true);
            yield return ("weights -1 and NaN", new Targets([0, 1], null, [-1f, float.NaN]), true);
        }
        else if (ElementOf(underlying) is { } element)
        {
            foreach (int length in (int[])[0, 1, 7])
            {
                yield return ($"{length} elements", Sequence(underlying, element, length), true);
            }
        }
    }

    /// <summary>The element type of an array, span, memory or read-only list argument; null for anything else.</summary>
    private static Type? ElementOf(Type type)
    {
        if (type.IsArray && type.GetArrayRank() == 1)
        {
            return type.GetElementType();
        }

        if (!type.IsGenericType)
        {
            return null;
        }

        Type definition = type.GetGenericTypeDefinition();
        return definition == typeof(Span<>) || definition == typeof(ReadOnlySpan<>) || definition == typeof(Memory<>)
            || definition == typeof(ReadOnlyMemory<>) || definition == typeof(IReadOnlyList<>) || definition == typeof(IEnumerable<>)
            || definition == typeof(IReadOnlyCollection<>) || definition == typeof(IList<>)
            ? type.GetGenericArguments()[0]
            : null;
    }

    private object Sequence(Type type, Type element, int length, Func<int, object>? value = null)
    {
        var array = Array.CreateInstance(element, length);
        for (int i = 0; i < length; i++)
        {
            array.SetValue(value is null ? Element(element, i) : value(i), i);
        }

        if (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Memory<>) || type.GetGenericTypeDefinition() == typeof(ReadOnlyMemory<>)))
        {
            return Activator.CreateInstance(type, array)!;
        }

        return array;
    }

    private object? Element(Type element, int i) =>
        element == typeof(int) ? i % 2
        : element == typeof(float) ? 0.25f * (i + 1)
        : element == typeof(double) ? 0.25 * (i + 1)
        : element == typeof(long) ? (long)(i + 1)
        : element == typeof(string) ? $"c{i}"
        : element == typeof(byte) ? (byte)i
        : element == typeof(bool) ? i % 2 == 1
        : element.IsArray && ElementOf(element) is { } inner ? Sequence(element, inner, 2)
        : Valid(element, null);

    // ---- valid-looking arguments ----

    private object? Valid(ParameterInfo parameter)
    {
        Type type = parameter.ParameterType.IsByRef ? parameter.ParameterType.GetElementType()! : parameter.ParameterType;

        // A default is valid by design, and fits the others better than a guess (FtrlOptions' learningRatePower <= 0).
        if (parameter.HasDefaultValue && !parameter.IsOut)
        {
            return parameter.DefaultValue is null && type.IsValueType && Nullable.GetUnderlyingType(type) is null
                ? Activator.CreateInstance(type)
                : parameter.DefaultValue;
        }

        return Valid(type, parameter.Name);
    }

    /// <summary>
    /// A value of <paramref name="type"/> that fits the factory table's shapes: 2 features, 2 classes, batches of 2; float
    /// buffers hold 4 values ([batch=2, 2]) and label buffers 2.
    /// </summary>
    private object? Valid(Type type, string? name)
    {
        Type underlying = Nullable.GetUnderlyingType(type) ?? type;
        string lower = name?.ToLowerInvariant() ?? "";
        if (underlying == typeof(string))
        {
            return lower == "filename" ? Mnist.TrainImagesFile
                : lower == "label" ? "b"
                : lower.Contains("directory", StringComparison.Ordinal) || lower.Contains("folder", StringComparison.Ordinal) ? folder
                : lower.Contains("path", StringComparison.Ordinal) || lower.Contains("file", StringComparison.Ordinal) ? Path.Combine(folder, "file.bin")
                : lower == "monitor" ? "loss"
                : lower == "typeid" ? "dense"
                : "a";
        }

        if (underlying == typeof(int))
        {
            // Positions must fall inside the 2-by-2 shapes; counts and sizes are 2.
            return lower is "row" or "column" or "index" or "first" or "offset" or "start" or "epoch" or "axis" or "c" or "actual" or "predicted" ? 0 : 2;
        }

        if (underlying == typeof(long))
        {
            return 2L;
        }

        if (underlying == typeof(float))
        {
            // FTRL's learning-rate power must be at most 0.
            return lower.Contains("power", StringComparison.Ordinal) ? -0.5f : 0.5f;
        }

        if (underlying == typeof(double))
        {
            // OneCycle's divisors must be at least 1.
            return lower.EndsWith("divfactor", StringComparison.Ordinal) ? 10.0 : 0.5;
        }

        if (underlying.IsPrimitive)
        {
            return underlying == typeof(bool) ? false : underlying == typeof(char) ? ',' : Convert.ChangeType(1, underlying, null);
        }

        if (underlying.IsEnum)
        {
            return Enum.GetValues(underlying).GetValue(0);
        }

        if (underlying == typeof(LossTargets))
        {
            return new Targets([0, 1], null, null);
        }

        if (lower == "sample" && ElementOf(underlying) is { } sampleElement)
        {
            return Sequence(underlying, sampleElement, 2);
        }

        if (ElementOf(underlying) is { } element)
        {
            // Per-sample buffers (labels, rows) and per-feature ones (PReLU's alpha) hold 2; [batch, features] buffers 4,
            // one-hot where they are targets.
            if (lower == "targets" && element == typeof(float))
            {
                return Sequence(underlying, element, 4, i => i % 3 == 0 ? 1f : 0f);
            }

            bool two = element == typeof(int) || element == typeof(long) || element.IsArray || lower == "alpha";
            return Sequence(underlying, element, two ? 2 : 4);
        }

        if (underlying.IsArray)
        {
            return underlying == typeof(float[,]) ? new float[,] { { 0.25f, 0.5f }, { 0.75f, 1f } } : Array.CreateInstance(underlying.GetElementType()!, 2, 2);
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() is var definition
            && (definition == typeof(IReadOnlyDictionary<,>) || definition == typeof(IDictionary<,>)))
        {
            return Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(underlying.GetGenericArguments()));
        }

        if (typeof(Delegate).IsAssignableFrom(underlying))
        {
            MethodInfo signature = underlying.GetMethod("Invoke")!;
            var parameters = signature.GetParameters().Select(p => System.Linq.Expressions.Expression.Parameter(p.ParameterType)).ToArray();
            return System.Linq.Expressions.Expression.Lambda(underlying,
                System.Linq.Expressions.Expression.Default(signature.ReturnType), parameters).Compile();
        }

        return underlying.IsValueType && underlying.GetConstructor(Type.EmptyTypes) is null && !HasFactory(underlying)
            ? Activator.CreateInstance(underlying)
            : Make(underlying);
    }

    // ---- receivers and arguments of the library's own types ----

    /// <summary>
    /// How an instance of each type the generic rule below cannot make well is made: abstract types and interfaces get
    /// a concrete one; a model is compiled so that its methods reach their checks rather than "not compiled".
    /// </summary>
    private static readonly Dictionary<Type, Func<PublicApiFuzzer, object>> Factories = new()
    {
        [typeof(Sequential)] = _ => Model(),
        [typeof(Predictor)] = _ => Model().CreatePredictor(),
        [typeof(TrainingLoop)] = _ => Model().BeginTrainingLoop(),
        [typeof(TrainingContext)] = _ => new TrainingContext(Model(), 1, 1, 2, new History()),
        [typeof(ILayer)] = _ => new Dense(2, 2, seed: 1),
        [typeof(Layer)] = _ => new Dense(2, 2, seed: 1),
        [typeof(ILoss)] = _ => new SoftmaxCrossEntropy(),
        [typeof(Loss)] = _ => new SoftmaxCrossEntropy(),
        [typeof(CrossentropyLoss)] = _ => new CategoricalCrossentropy(),
        [typeof(RegressionLoss)] = _ => new MeanSquaredError(),
        [typeof(IOptimizer)] = _ => new Sgd(),
        [typeof(Optimizer)] = _ => new Sgd(),
        [typeof(LearningRateSchedule)] = _ => new ExponentialDecay(0.1f, 10, 0.9f),
        [typeof(PiecewiseConstantDecay)] = _ => new PiecewiseConstantDecay([10L, 20L], [0.1f, 0.01f, 0.001f]),
        [typeof(NoiseLayer)] = _ => new GaussianDropout(2, 0.3f, seed: 1),
        [typeof(Constraint)] = _ => Constraint.NonNeg(),
        [typeof(Initializer)] = _ => Initializer.Zeros(),
        [typeof(Callback)] = _ => new EarlyStopping(),
        [typeof(Dataset)] = _ => new Dataset([0.25f, 0.5f, 0.75f, 1f], [0, 1], 2),
        [typeof(ConfusionMatrix)] = _ => new ConfusionMatrix([0, 1], [0, 1], 2),
        [typeof(TextTable)] = _ => new TextTable(["a", "b"], [["1", "x"], ["2", "y"]]),
        [typeof(TableEncoder)] = _ => TableEncoder.Fit(new TextTable(["a", "b"], [["1", "x"], ["2", "y"]]), "b"),
        [typeof(Standardizer)] = _ => Standardizer.Fit([0.25f, 0.5f, 0.75f, 1f], 2),
        [typeof(MinMaxScaler)] = _ => MinMaxScaler.Fit([0.25f, 0.5f, 0.75f, 1f], 2),
        // Exporters receive one from OnnxExport; its constructor, over the protobuf graph, is internal to the ONNX package.
        [typeof(NeuralCore.Onnx.OnnxGraphBuilder)] = _ => NewOnnxGraphBuilder(),
        [typeof(RocCurve)] = _ => RocCurve.Compute([0.25f, 0.75f], [false, true]),
        [typeof(Stream)] = _ => new MemoryStream([1, 2, 3, 4]),
        [typeof(TextReader)] = _ => new StringReader("a,b\n1,2\n"),
        [typeof(TextWriter)] = _ => new StringWriter(),
        [typeof(HttpClient)] = _ => new HttpClient(new RefusingHandler()),
        [typeof(Uri)] = _ => new Uri("http://127.0.0.1:9/"),
        [typeof(object)] = _ => "fuzz",
        [typeof(MnistDownloader)] = f => new MnistDownloader(new HttpClient(new RefusingHandler()), f.folder),
    };

    private static bool HasFactory(Type type) => Factories.ContainsKey(type);

    private static Sequential Model()
    {
        var model = new Sequential(2, seed: 1).Add(new Dense(2));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd(), maxBatchSize: 4);
        return model;
    }

    private int depth;

    /// <summary>
    /// An instance from the factory table, or from the public constructor with the most parameters (which builds a
    /// layer for its size rather than leaving it to be built by a model), its arguments made the same way.
    /// </summary>
    private object? Make(Type type)
    {
        if (Factories.TryGetValue(type, out Func<PublicApiFuzzer, object>? factory))
        {
            return factory(this);
        }

        ConstructorInfo? constructor = type.IsAbstract ? null : type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault();
        if (constructor is null || depth > 4)
        {
            throw new SetupException($"The fuzzer has no way to make a {type.FullName}: add it to the factory table.", null);
        }

        depth++;
        try
        {
            return Invoker(constructor)(null, constructor.GetParameters().Select(Valid).ToArray());
        }
        catch (Exception e) when (e is not SetupException)
        {
            throw new SetupException($"The fuzzer could not make a {type.FullName}: add it to the factory table.", e);
        }
        finally
        {
            depth--;
        }
    }

    /// <summary>The fuzzer's own failure to make an argument: never an allowed outcome, so a gap in the table shows.</summary>
    private sealed class SetupException(string message, Exception? inner) : Exception(message, inner);

    private sealed class RefusingHandler : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound));
    }

    // ---- calling a member whose parameters may be spans ----

    /// <summary>A <see cref="LossTargets"/> to build at the call, as a ref struct cannot be kept in an argument array.</summary>
    private sealed record Targets(int[]? Labels, float[]? Values, float[]? Weights);

    private static LossTargets ToTargets(Targets? t) =>
        t is null || (t.Labels is null && t.Values is null) ? default
        : t.Labels is not null ? LossTargets.FromLabels(t.Labels, t.Weights) : LossTargets.FromValues(t.Values, t.Weights);

    private static Span<T> ToSpan<T>(T[]? array) => array;

    private static ReadOnlySpan<T> ToReadOnlySpan<T>(T[]? array) => array;

    /// <summary>
    /// A delegate that calls <paramref name="member"/> with an argument array: reflection's Invoke cannot pass a span, so
    /// spans travel as arrays and are made at the call.
    /// </summary>
    private static Func<object?, object?[], object?> Invoker(MethodBase member)
    {
        var method = new DynamicMethod($"fuzz_{member.Name}", typeof(object), [typeof(object), typeof(object[])], typeof(PublicApiFuzzer).Module, skipVisibility: true);
        ILGenerator il = method.GetILGenerator();
        Type declaring = member.DeclaringType!;
        if (member is MethodInfo { IsStatic: false })
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(declaring.IsValueType ? OpCodes.Unbox : OpCodes.Castclass, declaring);
        }

        ParameterInfo[] parameters = member.GetParameters();
        for (int i = 0; i < parameters.Length; i++)
        {
            Type type = parameters[i].ParameterType;
            Type element = type.IsByRef ? type.GetElementType()! : type;
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Ldelem_Ref);
            if (element.IsGenericType && (element.GetGenericTypeDefinition() == typeof(Span<>) || element.GetGenericTypeDefinition() == typeof(ReadOnlySpan<>)))
            {
                Type item = element.GetGenericArguments()[0];
                il.Emit(OpCodes.Castclass, item.MakeArrayType());
                string converter = element.GetGenericTypeDefinition() == typeof(Span<>) ? nameof(ToSpan) : nameof(ToReadOnlySpan);
                il.Emit(OpCodes.Call, typeof(PublicApiFuzzer).GetMethod(converter, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(item));
            }
            else if (element == typeof(LossTargets))
            {
                il.Emit(OpCodes.Castclass, typeof(Targets));
                il.Emit(OpCodes.Call, typeof(PublicApiFuzzer).GetMethod(nameof(ToTargets), BindingFlags.NonPublic | BindingFlags.Static)!);
            }
            else if (element.IsByRefLike)
            {
                throw new NotSupportedException($"a {element.Name} parameter");
            }
            else
            {
                il.Emit(element.IsValueType ? OpCodes.Unbox_Any : OpCodes.Castclass, element);
            }

            if (type.IsByRef)
            {
                LocalBuilder local = il.DeclareLocal(element);
                il.Emit(OpCodes.Stloc, local);
                il.Emit(OpCodes.Ldloca, local);
            }
        }

        if (member is ConstructorInfo constructor)
        {
            il.Emit(OpCodes.Newobj, constructor);
            if (declaring.IsValueType)
            {
                il.Emit(OpCodes.Box, declaring);
            }
        }
        else
        {
            var called = (MethodInfo)member;
            il.Emit(called.IsStatic || declaring.IsValueType ? OpCodes.Call : OpCodes.Callvirt, called);
            Type result = called.ReturnType;
            if (result == typeof(void))
            {
                il.Emit(OpCodes.Ldnull);
            }
            else if (result.IsByRef || result.IsByRefLike)
            {
                il.Emit(OpCodes.Pop);
                il.Emit(OpCodes.Ldnull);
            }
            else if (result.IsValueType)
            {
                il.Emit(OpCodes.Box, result);
            }
        }

        il.Emit(OpCodes.Ret);
        return method.CreateDelegate<Func<object?, object?[], object?>>();
    }

    public string Report(int shown)
    {
        var text = new StringBuilder();
        text.AppendLine($"{failures.Count} of {Calls} calls on {Members} members neither succeeded nor refused the bad argument by name:");
        foreach (string failure in failures.Take(shown))
        {
            text.AppendLine(failure);
        }

        if (failures.Count > shown)
        {
            text.AppendLine($"... and {failures.Count - shown} more");
        }

        return text.ToString();
    }

    private static NeuralCore.Onnx.OnnxGraphBuilder NewOnnxGraphBuilder()
    {
        ConstructorInfo constructor = typeof(NeuralCore.Onnx.OnnxGraphBuilder).GetConstructors(BindingFlags.Instance | BindingFlags.NonPublic).Single();
        object graph = Activator.CreateInstance(constructor.GetParameters()[0].ParameterType)!;
        return (NeuralCore.Onnx.OnnxGraphBuilder)constructor.Invoke([graph]);
    }
}
