using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using NeuralCore.Configuration;
using NeuralCore.IO;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;

namespace NeuralCore.Serialization;

/// <summary>
/// Saves and loads <see cref="Sequential"/> models in NeuralCore's versioned binary format (docs/model-format.md):
/// architecture, weights and optionally the loss, optimizer and its state so training can resume.
/// </summary>
/// <remarks>
/// Layout, little-endian: the magic <c>"NCMODEL\0"</c> (8 bytes), the format version (uint32, now 3), the body length
/// (uint64), the body, then the SHA-256 of everything before it (32 bytes). Saving writes a temporary file beside the
/// target and renames it over the target only when complete, so an interrupted save leaves the previous file intact.
/// Loading checks size, magic, version and checksum before parsing, and bounds every count by the bytes that remain.
/// </remarks>
public static class ModelFile
{
    /// <summary>The format version this library writes; it also reads versions 1 and 2.</summary>
    public const uint Version = 3;

    /// <summary>The largest file <see cref="Load"/> accepts (1 GiB), so a hostile file cannot make it allocate without bound.</summary>
    public const long MaxFileBytes = 1L << 30;

    private static readonly byte[] Magic = "NCMODEL\0"u8.ToArray();
    private const int HeaderBytes = 8 + 4 + 8;

    // A layer's state entry for Layer.Trainable, present (false) only for a layer that is not trainable.
    private const string TrainableKey = "trainable";
    private const int HashBytes = 32;

    /// <summary>Writes the model to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    /// <param name="model">A model with at least one layer; every layer, the loss and the optimizer are stored as their type id and config (<see cref="ComponentRegistry"/>).</param>
    /// <param name="path">The destination; its folder must exist.</param>
    /// <param name="includeOptimizer">
    /// Also store the optimizer's step count and state, so that training resumes where it stopped. A compiled model's
    /// loss, optimizer settings and metrics are stored either way (as Keras keeps its compile config), so that the loaded
    /// model predicts what this one does (a from-logits loss applies its softmax in <c>Predict</c>); without the state it
    /// loads with a fresh optimizer.
    /// </param>
    /// <exception cref="NotSupportedException">
    /// A layer, loss or optimizer type has no representation in the format, or the file would exceed
    /// <see cref="MaxFileBytes"/> (which <see cref="Load"/> refuses).
    /// </exception>
    /// <exception cref="IOException">The file cannot be written, or the path is not a regular file's (a directory, a FIFO, a device); the previous file, if any, is untouched.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the file may not be written (permissions); the previous file, if any, is untouched.</exception>
    /// <exception cref="ArgumentException">
    /// The model has no layers, a parameter (or a value of the optimizer's state, when it is stored) is NaN or
    /// infinite, or a layer's state is one its reading refuses (a batch normalization's running variance that is
    /// negative or not finite), or a name, type id or config string is longer than 4,096 bytes of UTF-8 or not valid
    /// UTF-16 (a layer of one's own, a long schedule), all of which <see cref="Load"/> would refuse; the message names
    /// the layer and index or the string, and nothing is written.
    /// </exception>
    /// <exception cref="InvalidOperationException">Another thread is training the model (save from a callback of its <c>Fit</c> instead).</exception>
    public static void Save(Sequential model, string path, bool includeOptimizer = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using Sequential.ReadScope read = model.EnterRead("ModelFile.Save");
        byte[] body = CheckedBody(model, includeOptimizer, path);

        AtomicFile.Write(path, stream => WriteFramed(stream, body));
    }

    /// <summary>
    /// Writes the model to <paramref name="stream"/> from its position, the same bytes <see cref="Save"/> writes to a
    /// file (for a database, a network or an archive entry; <see cref="ReadFrom"/> reads them back).
    /// The bytes are built and checked first: a model that cannot be written writes nothing.
    /// </summary>
    /// <param name="model">As for <see cref="Save"/>.</param>
    /// <param name="stream">A writable stream; left open, after the model's bytes.</param>
    /// <param name="includeOptimizer">As for <see cref="Save"/>.</param>
    /// <exception cref="ArgumentException">The stream cannot be written, or the model cannot be stored (as for <see cref="Save"/>).</exception>
    /// <exception cref="NotSupportedException">As for <see cref="Save"/>.</exception>
    /// <exception cref="InvalidOperationException">Another thread is training the model.</exception>
    public static void WriteTo(Sequential model, Stream stream, bool includeOptimizer = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("The stream cannot be written (CanWrite is false).", nameof(stream));
        }

        using Sequential.ReadScope read = model.EnterRead("ModelFile.WriteTo");
        WriteFramed(stream, CheckedBody(model, includeOptimizer, "stream"));
    }

    // The body, refused before and after it is built when the whole would exceed what Load takes; where names the destination.
    private static byte[] CheckedBody(Sequential model, bool includeOptimizer, string where)
    {
        CheckFileSize(EstimatedBytes(model, includeOptimizer), where);
        byte[] body = WriteBody(model, includeOptimizer);
        CheckFileSize(HeaderBytes + body.LongLength + HashBytes, where);
        return body;
    }

    // The header (magic, version, body length), the body, and the SHA-256 of both.
    private static void WriteFramed(Stream stream, byte[] body)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteUInt64LittleEndian(header[12..], (ulong)body.Length);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header);
        hash.AppendData(body);
        stream.Write(header);
        stream.Write(body);
        stream.Write(hash.GetHashAndReset());
    }

    /// <summary>
    /// Reads one model from <paramref name="stream"/> at its position, as <see cref="WriteTo"/> or a file of
    /// <see cref="Save"/> holds it, and leaves the stream just after it. The header's length is checked against
    /// <see cref="MaxFileBytes"/> before anything more is read, so a stream that never ends or announces too much is refused
    /// without reading it.
    /// </summary>
    /// <param name="stream">A readable stream.</param>
    /// <param name="name">The name used in error messages.</param>
    /// <param name="compile">As for <see cref="Load"/>.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentException">The stream cannot be read.</exception>
    /// <exception cref="InvalidDataException">The bytes are not a NeuralCore model, end early, announce more than <see cref="MaxFileBytes"/>, or are corrupt or inconsistent; the message names <paramref name="name"/> and the problem.</exception>
    /// <exception cref="IOException">The stream fails.</exception>
    public static Sequential ReadFrom(Stream stream, string name = "stream", bool compile = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream cannot be read (CanRead is false).", nameof(stream));
        }

        byte[] header = new byte[HeaderBytes];
        int got = stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false);
        if (got < Magic.Length || !header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{name}: not a NeuralCore model (the magic number is missing).");
        }

        if (got < HeaderBytes)
        {
            throw new InvalidDataException($"{name}: truncated: the stream ends after {got} bytes, within the header.");
        }

        ulong bodyLength = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(12));
        if (bodyLength > (ulong)(MaxFileBytes - HeaderBytes - HashBytes))
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{name}: the header announces a {bodyLength}-byte body, more than the {MaxFileBytes}-byte limit for a model allows."));
        }

        // The buffer grows with what arrives (from 1 MiB, doubling), so that a short stream whose header announces up to
        // the limit costs what it holds, not the announced size.
        int total = HeaderBytes + (int)bodyLength + HashBytes;
        byte[] bytes = new byte[Math.Min(total, 1 << 20)];
        header.CopyTo(bytes, 0);
        int length = ReadGrowing(stream, ref bytes, HeaderBytes, total);
        if (length < total)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{name}: truncated: the header announces a {bodyLength}-byte body and a {HashBytes}-byte checksum, but the stream ends {total - length} bytes short."));
        }

        return Read(bytes, name, compile);
    }

    /// <summary>Reads a model written by <see cref="Save"/>; compiled when the file holds its loss and optimizer.</summary>
    /// <param name="path">The file.</param>
    /// <param name="compile">
    /// Whether to compile the model with the loss, optimizer (and its state) the file holds, as Keras's
    /// <c>load_model(compile=True)</c>. False returns the architecture and weights alone, uncompiled: to add layers before
    /// compiling it anew, or when the file's loss or optimizer is a type this process has not registered.
    /// </param>
    /// <returns>The model, with bitwise the weights it was saved with.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">A folder on the path does not let this user look inside (permission denied, not reported as missing), or the file may not be read.</exception>
    /// <exception cref="IOException">The path is a directory, a named pipe, a device or a socket (refused before opening it), or the file cannot be read.</exception>
    /// <exception cref="InvalidDataException">The file is not a NeuralCore model, is truncated, corrupt, of another version, or inconsistent; the message names the file and the problem.</exception>
    public static Sequential Load(string path, bool compile = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        InputFile.RequireRegular(path, "model file");
        var info = new FileInfo(path);
        string name = info.Name;
        if (info.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"{name}: {info.Length} bytes is larger than the {MaxFileBytes}-byte limit for a model file.");
        }

        // Read no further than the limit whatever the size said: a file can grow while it is read, and where the
        // file's kind cannot be told, a device would report a size of 0 and never end.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        byte[] buffer = new byte[Math.Min(info.Length, MaxFileBytes) + 1];
        int length = ReadGrowing(stream, ref buffer, 0, (int)MaxFileBytes + 1);
        if (length > MaxFileBytes)
        {
            throw new InvalidDataException($"{name}: more than the {MaxFileBytes}-byte limit for a model file (it grew while being read, or never ends).");
        }

        return Read(buffer.AsSpan(0, length), name, compile);
    }

    // Reads until the stream ends or holds limit bytes, into a buffer that grows (doubling, capped at limit) with what
    // arrives, so that what a header or a file size announces is never allocated before the bytes are there.
    private static int ReadGrowing(Stream stream, ref byte[] buffer, int length, int limit)
    {
        while (length < limit)
        {
            if (length == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min(Math.Max(2L * buffer.Length, 1 << 16), limit));
            }

            int read = stream.Read(buffer, length, buffer.Length - length);
            if (read == 0)
            {
                break;
            }

            length += read;
        }

        return length;
    }

    /// <summary>
    /// Reads the weights of a model file written by <see cref="Save"/> (a <see cref="Training.ModelCheckpoint"/>'s, say)
    /// into <paramref name="model"/>, as Keras's <c>model.load_weights</c>: every layer's parameters and non-trainable
    /// weights (a batch normalization's running statistics), bitwise as saved. The file's layers must match the model's
    /// one for one: the same type, input size, output size, parameter and non-trainable counts, and what those weights
    /// mean (a <see cref="LayerNormalization"/>'s center and scale; a <see cref="Normalization"/>'s statistics adapted,
    /// or given at construction, in both). The model's loss, optimizer and its
    /// state, and its layers' names, settings and <see cref="Layer.Trainable"/> flags, stay as they are; nothing changes
    /// unless every layer matches.
    /// </summary>
    /// <param name="model">The model to receive the weights, compiled or not.</param>
    /// <param name="path">The model file.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty, or the file's layers differ from the model's (the message names the first that differs, and how).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">A folder on the path does not let this user look inside (permission denied, not reported as missing), or the file may not be read.</exception>
    /// <exception cref="IOException">The path is a directory, a named pipe, a device or a socket, or the file cannot be read.</exception>
    /// <exception cref="InvalidDataException">The file is not a NeuralCore model, is truncated, corrupt, of another version, or inconsistent.</exception>
    /// <exception cref="InvalidOperationException">Another thread is training the model, or a callback of its <c>Fit</c> whose <c>ReadsModelBetweenSteps</c> is false calls it between steps.</exception>
    public static void LoadWeights(Sequential model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        // Before the call begins, which closes the callbacks' window: a callback that said it changes nothing between
        // steps would copy row-major weights over the first layer's in the products' order.
        model.RequireRowMajor("ModelFile.LoadWeights");
        Sequential source = Load(path, compile: false);
        string file = Path.GetFileName(path);
        Sequential.TrainingCall call = model.BeginCall("ModelFile.LoadWeights");
        try
        {
            if (source.Layers.Count != model.Layers.Count)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"{file} holds {source.Layers.Count} layers and the model {model.Layers.Count}: weights load into a model of the same layers."), nameof(path));
            }

            for (int i = 0; i < model.Layers.Count; i++)
            {
                ILayer saved = source.Layers[i], layer = model.Layers[i];
                int savedState = (saved as Layer)?.NonTrainableCount ?? 0, state = (layer as Layer)?.NonTrainableCount ?? 0;
                if (saved.TypeId != layer.TypeId || saved.InputSize != layer.InputSize || saved.OutputSize != layer.OutputSize
                    || saved.ParameterCount != layer.ParameterCount || savedState != state
                    || (saved as Layer)?.WeightLayout != (layer as Layer)?.WeightLayout)
                {
                    throw new ArgumentException(Names.Printable(string.Create(CultureInfo.InvariantCulture,
                        $"{file}: layer {i} is {Shape(saved, savedState)} in the file but {Shape(layer, state)} in the model: weights load into a model of the same layers.")), nameof(path));
                }
            }

            for (int i = 0; i < model.Layers.Count; i++)
            {
                source.Layers[i].Parameters.Span.CopyTo(model.Layers[i].Parameters.Span);
                if (source.Layers[i] is Layer { NonTrainableCount: > 0 } saved && model.Layers[i] is Layer layer)
                {
                    float[] weights = new float[saved.NonTrainableCount];
                    saved.CopyNonTrainable(weights);
                    layer.RestoreNonTrainable(weights);
                }
            }
        }
        finally
        {
            call.End();
        }
    }

    private static string Shape(ILayer layer, int nonTrainable) => string.Create(CultureInfo.InvariantCulture,
        $"{layer.TypeId} '{layer.Name}' ({layer.InputSize} -> {layer.OutputSize}, {layer.ParameterCount} parameters{(nonTrainable > 0 ? $", {nonTrainable} non-trainable" : "")}{(layer is Layer { WeightLayout: { Length: > 0 } layout } ? ", " + layout : "")})");

    /// <summary>Parses a model from the bytes of a file (<see cref="Load"/> without the file system).</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <param name="name">The name used in error messages.</param>
    /// <param name="compile">As for <see cref="Load"/>.</param>
    /// <returns>The model.</returns>
    /// <exception cref="InvalidDataException">The bytes are not a valid model file.</exception>
    public static Sequential Read(ReadOnlySpan<byte> bytes, string name, bool compile = true)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (bytes.Length < Magic.Length || !bytes[..Magic.Length].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{name}: not a NeuralCore model file (the magic number is missing).");
        }

        if (bytes.Length < HeaderBytes + HashBytes)
        {
            throw new InvalidDataException($"{name}: truncated: {bytes.Length} bytes cannot hold the header and checksum.");
        }

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (version is not (1 or 2 or Version))
        {
            throw new InvalidDataException($"{name}: format version {version} is not supported (this library reads versions 1 to {Version}).");
        }

        ulong bodyLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes[12..]);
        if (bodyLength != (ulong)(bytes.Length - HeaderBytes - HashBytes))
        {
            throw new InvalidDataException(
                $"{name}: truncated or extended: the header announces a {bodyLength}-byte body but the file holds {bytes.Length - HeaderBytes - HashBytes}.");
        }

        Span<byte> digest = stackalloc byte[HashBytes];
        SHA256.HashData(bytes[..^HashBytes], digest);
        if (!digest.SequenceEqual(bytes[^HashBytes..]))
        {
            throw new InvalidDataException($"{name}: checksum mismatch: the file is corrupt.");
        }

        var reader = new BodyReader(bytes[HeaderBytes..^HashBytes], name);
        Sequential model = version == 1 ? ReadBodyVersion1(ref reader, compile) : ReadBody(ref reader, version, compile);
        if (!reader.AtEnd)
        {
            throw new InvalidDataException($"{name}: {reader.Remaining} unexpected bytes after the model.");
        }

        return model;
    }

    /// <summary>
    /// The bytes a file of <paramref name="model"/> takes at least: its parameters and, with
    /// <paramref name="includeOptimizer"/>, the optimizer's state, as float32 (names and configs add a few kilobytes).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="includeOptimizer">As for <see cref="Save"/>.</param>
    /// <returns>The estimate; a file is refused beyond <see cref="MaxFileBytes"/>.</returns>
    public static long EstimatedBytes(Sequential model, bool includeOptimizer = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        long parameters = model.Layers.Sum(l => (long)l.ParameterCount);
        // The state's length only, without the view's check: a size query reads no weights, so it neither reorders a
        // TrainingLoop's first layer nor is refused from a callback.
        long state = !includeOptimizer || !model.IsCompiled ? 0
            : model.Optimizer is Optimizer own ? own.StateStorage.Length : model.Optimizer!.State.Length;
        return HeaderBytes + HashBytes + (4 * (parameters + state));
    }

    private static void CheckFileSize(long bytes, string path)
    {
        if (bytes > MaxFileBytes)
        {
            throw new NotSupportedException(string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(path)}: the model needs {bytes:N0} bytes, more than the {MaxFileBytes:N0} a model file may hold (Load would refuse it); nothing was written. Save without the optimizer's state (includeOptimizer: false) or use fewer parameters."));
        }
    }

    // A NaN or an infinity among the weights makes every prediction NaN. Fit never leaves one (a step whose loss or
    // gradient is not finite is skipped), so one here was set by hand or comes from a damaged file; Load refuses it
    // too, so Save refuses to write a file that Load would reject.
    private static void RequireFinite(ReadOnlySpan<float> values, string what, string paramName)
    {
        int bad = Kernels.Elementwise.IndexOfNonFinite(values);
        if (bad >= 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The model's {what} {bad} is {Check.Format(values[bad])}: a saved model's values must be finite; nothing was written."), paramName);
        }
    }

    private static byte[] WriteBody(Sequential model, bool includeOptimizer)
    {
        if (model.Layers.Count == 0)
        {
            throw new ArgumentException("The model has no layers to save.", nameof(model));
        }

        using var body = new MemoryStream();
        using var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true);
        WriteText(w, model.Name, "the model's name");
        w.Write(model.Seed);
        w.Write(model.InputSize);
        w.Write(model.EpochsTrained);
        w.Write(model.Layers.Count);
        for (int i = 0; i < model.Layers.Count; i++)
        {
            ILayer layer = model.Layers[i];
            RequireFinite(layer.Parameters.Span, $"layer {i} ('{Names.Printable(layer.Name)}'), parameter", nameof(model));
            WriteText(w, layer.TypeId, $"layer {i}'s type id");
            WriteText(w, layer.Name, $"layer {i}'s name");
            w.Write(layer.OutputSize);
            WriteConfig(w, ComponentRegistry.ConfigOf(layer));
            var state = new ComponentConfig(layer.TypeId);
            try
            {
                (layer as Layer)?.CheckState();
            }
            catch (InvalidDataException e)
            {
                throw new ArgumentException($"{e.Message} Load would refuse it; nothing was written.", nameof(model), e);
            }

            (layer as Layer)?.WriteState(state);
            if (layer is Layer { Trainable: false })
            {
                // Written only when false: a file of trainable layers reads as before, in readers that predate the flag too.
                state.Set(TrainableKey, false);
            }

            WriteConfig(w, state);
            WriteFloats(w, layer.Parameters.Span);
        }

        // 0: not compiled; 1: the compile config with the optimizer's step count and state; 2: the config alone.
        byte training = !model.IsCompiled ? (byte)0 : includeOptimizer ? (byte)1 : (byte)2;
        w.Write(training);
        if (training != 0)
        {
            WriteConfig(w, ComponentRegistry.ConfigOf(model.Loss!));
            WriteConfig(w, ComponentRegistry.ConfigOf(model.Optimizer!));
            var metrics = new ComponentConfig("metrics").Set("compiled", model.Metrics is not null);
            if (model.Metrics is { } names)
            {
                metrics.Set("names", string.Join(',', names));
            }

            WriteConfig(w, metrics);
            if (training == 1)
            {
                RequireFinite(model.Optimizer!.State.Span, "the optimizer's state, value", nameof(model));
                if (model.Optimizer is Optimizer library && library.ImpossibleState() is { } impossible)
                {
                    // Load refuses it (ReadOptimizerState): nothing is written that cannot be read back.
                    throw new ArgumentException($"{impossible}: the model is not saved.", nameof(model));
                }

                w.Write(model.Optimizer.Iterations);
                WriteFloats(w, model.Optimizer.State.Span);
            }
        }

        w.Flush();
        return body.ToArray();
    }

    // A config: its type id, the entry count, then each key, a type tag and the value.
    private static void WriteConfig(BinaryWriter w, ComponentConfig config)
    {
        WriteText(w, config.TypeId, "a config's type id");
        w.Write(config.Entries.Count);
        foreach ((string key, object value) in config.Entries)
        {
            WriteText(w, key, $"a key of {config.TypeId}'s config");
            switch (value)
            {
                case bool b:
                    w.Write((byte)ConfigTag.Boolean);
                    w.Write(b);
                    break;
                case int i:
                    w.Write((byte)ConfigTag.Int32);
                    w.Write(i);
                    break;
                case long l:
                    w.Write((byte)ConfigTag.Int64);
                    w.Write(l);
                    break;
                case float f:
                    w.Write((byte)ConfigTag.Single);
                    w.Write(f);
                    break;
                case double d:
                    w.Write((byte)ConfigTag.Double);
                    w.Write(d);
                    break;
                case string text:
                    w.Write((byte)ConfigTag.String);
                    WriteText(w, text, $"{config.TypeId}'s config value '{key}'");
                    break;
                case float[] values:
                    w.Write((byte)ConfigTag.Singles);
                    WriteFloats(w, values);
                    break;
                default:
                    throw new NotSupportedException($"{config.TypeId}: the config value '{key}' has a type the format cannot store ({value.GetType().Name}).");
            }
        }
    }

    // Every string the file holds, checked as Load reads it (valid UTF-16, at most 4,096 bytes of UTF-8): a layer of
    // one's own (an ILayer that is not a Layer) or a config value was written unchecked, and the file then refused by Load.
    private static void WriteText(BinaryWriter w, string text, string what)
    {
        try
        {
            Names.Check(text, "model");
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"The model cannot be saved: {what} ('{Names.Printable(text.Length > 40 ? text[..40] + "..." : text)}'): {e.Message.Replace(" (Parameter 'model')", "", StringComparison.Ordinal)} Load would refuse it; nothing was written.", e);
        }

        w.Write(text);
    }

    private enum ConfigTag : byte
    {
        Boolean = 1,
        Int32 = 2,
        Int64 = 3,
        Single = 4,
        Double = 5,
        String = 6,
        Singles = 7,
    }

    private static void WriteFloats(BinaryWriter w, ReadOnlySpan<float> values)
    {
        w.Write(values.Length);
        w.Write(MemoryMarshal.AsBytes(values)); // little-endian on every platform .NET runs NeuralCore on
    }

    private static Sequential ReadBody(ref BodyReader r, uint version, bool compile)
    {
        string modelName = r.String("model name");
        ulong seed = r.UInt64();
        int inputSize = r.PositiveInt32("input size");
        int epochs = r.Int32();
        if (epochs < 0)
        {
            throw r.Error($"negative epoch count {epochs}");
        }

        int layerCount = r.Int32();
        if (layerCount <= 0 || layerCount > 10_000)
        {
            throw r.Error($"layer count {layerCount} is out of range");
        }

        var model = new Sequential(inputSize, seed, modelName) { EpochsTrained = epochs };
        for (int i = 0; i < layerCount; i++)
        {
            string typeId = r.String("layer type");
            string layerName = r.String("layer name");
            int outputs = r.PositiveInt32("layer output size");
            ComponentConfig config = r.Config($"layer {i}");
            ComponentConfig state = r.Config($"state of layer {i}");
            if (config.TypeId != typeId || state.TypeId != typeId)
            {
                throw r.Error($"layer {i} is a '{typeId}' but its config is for '{config.TypeId}'");
            }

            ILayer layer = Create(ref r, () => ComponentRegistry.CreateLayer(config), $"layer {i}");
            layer.Name = layerName;
            AddChecked(ref r, model, layer, i, outputs);
            if (layer is Layer known)
            {
                Create(ref r, () => { known.ReadState(state); return 0; }, $"the state of layer {i}");
                known.Trainable = Create(ref r, () => state.GetBoolean(TrainableKey, fallback: true), $"the state of layer {i}");
            }
        }

        // Version 2 has a flag (1: config and state); version 3 adds 2 (the config without the state).
        byte training = r.Byte("the training config's kind", version >= 3 ? (byte)2 : (byte)1);
        if (training != 0)
        {
            ComponentConfig lossConfig = r.Config("loss");
            ComponentConfig optimizerConfig = r.Config("optimizer");
            ComponentConfig metricsConfig = r.Config("metrics");
            if (!compile)
            {
                SkipOptimizerState(ref r, training == 1);
                return model;
            }

            ILoss loss = Create(ref r, () => ComponentRegistry.CreateLoss(lossConfig), "the loss");
            IOptimizer optimizer = Create(ref r, () => ComponentRegistry.CreateOptimizer(optimizerConfig), "the optimizer");
            string[]? metrics = Create(ref r, () => metricsConfig.GetBoolean("compiled")
                ? metricsConfig.GetString("names").Split(',', StringSplitOptions.RemoveEmptyEntries)
                : null, "the metrics");
            if (training == 1)
            {
                ReadOptimizerState(ref r, model, loss, optimizer, metrics);
            }
            else
            {
                Create(ref r, () => { model.Compile(loss, optimizer, metrics: metrics); return 0; }, "the loss and optimizer");
            }
        }

        return model;
    }

    // A factory call whose InvalidDataException (unknown type, bad config) names the file and the component.
    // Load(compile: false): the step count and the state are checked for their bounds and passed over.
    private static void SkipOptimizerState(ref BodyReader r, bool present)
    {
        if (present)
        {
            long iterations = r.Int64();
            if (iterations < 0)
            {
                throw r.Error($"negative optimizer step count {iterations}");
            }

            r.SkipFloats("optimizer state");
        }
    }

    private static T Create<T>(ref BodyReader r, Func<T> create, string what)
    {
        try
        {
            return create();
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException)
        {
            // A setting out of range, or a loss that does not suit the layers, is a bad file too.
            throw r.Error(what is "the loss" or "the optimizer" or "the loss and optimizer" or "the metrics"
                ? $"{what}: {ex.Message.TrimEnd('.')} (ModelFile.Load(path, compile: false) reads the architecture and weights alone)"
                : $"{what}: {ex.Message.TrimEnd('.')}");
        }
    }

    // Adds a rebuilt layer, whose parameters come next in the file. While the layer is built, the file bounds what it
    // may claim: its parameters must fit in the bytes left, and the values per feature it keeps (statistics) in the
    // file's size, both checked before anything is allocated (a forged input size of 2e9 before a BatchNormalization
    // allocated 48 GB and ran out of memory).
    private static void AddChecked(ref BodyReader r, Sequential model, ILayer layer, int index, int outputs)
    {
        try
        {
            Layer.t_fromFile = new Layer.FileBudget(r.Length, r.Remaining);
            model.Add(layer);
        }
        catch (ArgumentException ex)
        {
            throw r.Error($"layer {index} ({layer.TypeId}) does not fit the model: {ex.Message.TrimEnd('.')}");
        }
        catch (InvalidDataException ex)
        {
            throw r.Error($"layer {index} ({layer.TypeId}): {ex.Message.TrimEnd('.')}");
        }
        finally
        {
            Layer.t_fromFile = null;
        }

        if (layer.OutputSize != outputs)
        {
            throw r.Error($"layer {index} ({layer.TypeId}) outputs {layer.OutputSize} features but the file says {outputs}");
        }

        r.FiniteFloats($"parameters of layer {index}", layer.ParameterCount).CopyTo(layer.Parameters.Span);
    }

    private static void ReadOptimizerState(ref BodyReader r, Sequential model, ILoss loss, IOptimizer optimizer, string[]? metrics = null)
    {
        long iterations = r.Int64();
        if (iterations < 0)
        {
            throw r.Error($"negative optimizer step count {iterations}");
        }

        if (iterations > Optimizer.MaxIterations)
        {
            throw r.Error($"optimizer step count {iterations}, beyond the {Optimizer.MaxIterations} an optimizer takes");
        }

        Create(ref r, () => { model.Compile(loss, optimizer, metrics: metrics); return 0; }, "the loss and optimizer");
        optimizer.SetIterations(iterations);
        r.FiniteFloats("optimizer state", optimizer.State.Length).CopyTo(optimizer.State.Span);
        if (optimizer is Optimizer library && library.ImpossibleState() is { } impossible)
        {
            throw r.Error(impossible);
        }
    }

    // Version 1 (before components described themselves): fixed layer tags, a dropout rate field for every layer, and
    // the optimizers' options in a fixed order.
    private static Sequential ReadBodyVersion1(ref BodyReader r, bool compile)
    {
        string modelName = r.String("model name");
        ulong seed = r.UInt64();
        int inputSize = r.PositiveInt32("input size");
        int layerCount = r.Int32();
        if (layerCount <= 0 || layerCount > 10_000)
        {
            throw r.Error($"layer count {layerCount} is out of range");
        }

        var model = new Sequential(inputSize, seed, modelName);
        var parameters = new float[layerCount][];
        for (int i = 0; i < layerCount; i++)
        {
            string tag = r.String("layer type");
            string layerName = r.String("layer name");
            int outputs = r.PositiveInt32("layer output size");
            float rate = r.Single();
            var config = new ComponentConfig(tag);
            switch (tag)
            {
                case "Dense":
                    config.Set("units", outputs);
                    break;
                case "Dropout":
                    config.Set("rate", rate);
                    break;
                case "ReLU" or "Softmax":
                    break;
                default:
                    throw r.Error($"layer {i} has unknown type '{tag}'");
            }

            ILayer layer = Create(ref r, () => ComponentRegistry.CreateLayer(config), $"layer {i}");
            layer.Name = layerName;
            AddChecked(ref r, model, layer, i, outputs);
        }

        if (r.Boolean())
        {
            var lossConfig = new ComponentConfig(r.String("loss"));
            var optimizerConfig = new ComponentConfig(r.String("optimizer"));
            switch (optimizerConfig.TypeId)
            {
                case "adam":
                    optimizerConfig.Set("learning_rate", r.Single()).Set("beta_1", r.Single()).Set("beta_2", r.Single()).Set("epsilon", r.Single());
                    break;
                case "sgd":
                    optimizerConfig.Set("learning_rate", r.Single()).Set("momentum", r.Single()).Set("nesterov", r.Boolean());
                    break;
                default:
                    throw r.Error($"unknown optimizer '{optimizerConfig.TypeId}'");
            }

            if (!compile)
            {
                SkipOptimizerState(ref r, true);
                return model;
            }

            ILoss loss = Create(ref r, () => ComponentRegistry.CreateLoss(lossConfig), "the loss");
            IOptimizer optimizer = Create(ref r, () => ComponentRegistry.CreateOptimizer(optimizerConfig), "the optimizer");
            ReadOptimizerState(ref r, model, loss, optimizer);
        }

        return model;
    }

    /// <summary>A bounds-checked little-endian reader whose every failure names the file.</summary>
    private ref struct BodyReader(ReadOnlySpan<byte> bytes, string name)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public readonly int Remaining => _bytes.Length - _position;

        public readonly int Length => _bytes.Length;

        public readonly bool AtEnd => _position == _bytes.Length;

        public readonly InvalidDataException Error(string problem) => new($"{name}: {problem}.");

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4, "an integer"));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8, "an integer"));

        public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, "an integer"));

        public float Single() => BinaryPrimitives.ReadSingleLittleEndian(Take(4, "a number"));

        public byte Byte(string what, byte max) => Take(1, what)[0] is var b && b <= max ? b : throw Error($"{what} {b} is not in 0..{max}");

        public bool Boolean() => Take(1, "a flag")[0] switch
        {
            0 => false,
            1 => true,
            var b => throw Error($"invalid flag byte {b}"),
        };

        public int PositiveInt32(string what)
        {
            int value = Int32();
            return value > 0 ? value : throw Error($"{what} {value} is not positive");
        }

        public string String(string what)
        {
            // BinaryWriter's 7-bit encoded length prefix.
            int length = 0, shift = 0;
            byte b;
            do
            {
                if (shift > 28)
                {
                    throw Error($"the length of the {what} is malformed");
                }

                b = Take(1, $"the {what}")[0];
                length |= (b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);

            if (length is < 0 or > 4096)
            {
                throw Error($"the {what} is {length} bytes long, more than 4096");
            }

            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Take(length, $"the {what}"));
            }
            catch (DecoderFallbackException)
            {
                throw Error($"the {what} is not valid UTF-8");
            }
        }

        public ComponentConfig Config(string what)
        {
            string typeId = String($"type of {what}");
            if (typeId.Length == 0)
            {
                throw Error($"{what} has an empty type id");
            }

            var config = new ComponentConfig(typeId);
            int count = Int32();
            if (count is < 0 or > 256)
            {
                throw Error($"{what} has {count} config values (0 to 256 expected)");
            }

            for (int i = 0; i < count; i++)
            {
                string key = String($"config key of {what}");
                if (key.Length == 0 || config.Contains(key))
                {
                    throw Error($"{what} has an empty or repeated config key '{key}'");
                }

                object value = Take(1, $"the type of {what}'s '{key}'")[0] switch
                {
                    1 => Boolean(),
                    2 => Int32(),
                    3 => Int64(),
                    4 => Single(),
                    5 => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, "a number")),
                    6 => String($"{what}'s '{key}'"),
                    7 => FloatArray($"{what}'s '{key}'"),
                    var tag => throw Error($"{what}'s '{key}' has unknown value type {tag}"),
                };
                config.AddRaw(key, value);
            }

            return config;
        }

        private float[] FloatArray(string what)
        {
            int count = Int32();
            if (count < 0 || count > Remaining / sizeof(float))
            {
                throw Error($"{what}: {count} values is more than the file holds");
            }

            float[] values = new float[count];
            MemoryMarshal.Cast<byte, float>(Take(count * sizeof(float), what)).CopyTo(values);
            return values;
        }

        public void SkipFloats(string what)
        {
            int count = Int32();
            if (count < 0 || count > Remaining / sizeof(float))
            {
                throw Error($"{what}: {count} values announced, which the file cannot hold");
            }

            Take(count * sizeof(float), what);
        }

        public float[] Floats(string what, int expected)
        {
            int count = Int32();
            if (count != expected)
            {
                throw Error($"{what}: {count} values stored where the architecture needs {expected}");
            }

            if (count > Remaining / sizeof(float))
            {
                throw Error($"{what}: truncated");
            }

            float[] values = new float[count];
            MemoryMarshal.Cast<byte, float>(Take(count * sizeof(float), what)).CopyTo(values);
            return values;
        }

        // Save never writes a NaN or an infinity (RequireFinite), and with one among the weights every prediction is NaN.
        public float[] FiniteFloats(string what, int expected)
        {
            float[] values = Floats(what, expected);
            int bad = Kernels.Elementwise.IndexOfNonFinite(values);
            if (bad >= 0)
            {
                throw Error(string.Create(CultureInfo.InvariantCulture, $"{what}: value {bad} is {Check.Format(values[bad])}, where a saved model's values are finite"));
            }

            return values;
        }

        private ReadOnlySpan<byte> Take(int count, string what)
        {
            if (count < 0 || count > Remaining)
            {
                throw Error($"truncated while reading {what}");
            }

            ReadOnlySpan<byte> slice = _bytes.Slice(_position, count);
            _position += count;
            return slice;
        }
    }
}
