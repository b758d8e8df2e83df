using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
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
/// Layout, little-endian: the magic <c>"NCMODEL\0"</c> (8 bytes), the format version (uint32, now 1), the body length
/// (uint64), the body, then the SHA-256 of everything before it (32 bytes). Saving writes a temporary file beside the
/// target and renames it over the target only when complete, so an interrupted save leaves the previous file intact.
/// Loading checks size, magic, version and checksum before parsing, and bounds every count by the bytes that remain.
/// </remarks>
public static class ModelFile
{
    /// <summary>The format version this library writes and reads.</summary>
    public const uint Version = 1;

    /// <summary>The largest file <see cref="Load"/> accepts (1 GiB), so a hostile file cannot make it allocate without bound.</summary>
    public const long MaxFileBytes = 1L << 30;

    private static readonly byte[] Magic = "NCMODEL\0"u8.ToArray();
    private const int HeaderBytes = 8 + 4 + 8;
    private const int HashBytes = 32;

    /// <summary>Writes the model to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    /// <param name="model">A model with at least one layer; only built-in layers (Dense, Relu, Dropout, Softmax) can be saved.</param>
    /// <param name="path">The destination; its folder must exist.</param>
    /// <param name="includeOptimizer">Also store the loss, optimizer, its options, step count and state (when compiled).</param>
    /// <exception cref="NotSupportedException">A layer, loss or optimizer type has no representation in the format.</exception>
    /// <exception cref="IOException">The file cannot be written; the previous file, if any, is untouched.</exception>
    public static void Save(Sequential model, string path, bool includeOptimizer = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] body = WriteBody(model, includeOptimizer);

        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        string temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
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
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Reads a model written by <see cref="Save"/>; compiled when the file holds its loss and optimizer.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The model, with bitwise the weights it was saved with.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a NeuralCore model, is truncated, corrupt, of another version, or inconsistent; the message names the file and the problem.</exception>
    public static Sequential Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"{path}: no such model file.", path);
        }

        string name = info.Name;
        if (info.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"{name}: {info.Length} bytes is larger than the {MaxFileBytes}-byte limit for a model file.");
        }

        return Read(File.ReadAllBytes(path), name);
    }

    /// <summary>Parses a model from the bytes of a file (<see cref="Load"/> without the file system).</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <param name="name">The name used in error messages.</param>
    /// <returns>The model.</returns>
    /// <exception cref="InvalidDataException">The bytes are not a valid model file.</exception>
    public static Sequential Read(ReadOnlySpan<byte> bytes, string name)
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
        if (version != Version)
        {
            throw new InvalidDataException($"{name}: format version {version} is not supported (this library reads version {Version}).");
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
        Sequential model = ReadBody(ref reader);
        if (!reader.AtEnd)
        {
            throw new InvalidDataException($"{name}: {reader.Remaining} unexpected bytes after the model.");
        }

        return model;
    }

    private static byte[] WriteBody(Sequential model, bool includeOptimizer)
    {
        if (model.Layers.Count == 0)
        {
            throw new ArgumentException("The model has no layers to save.", nameof(model));
        }

        using var body = new MemoryStream();
        using var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true);
        w.Write(model.Name);
        w.Write(model.Seed);
        w.Write(model.InputSize);
        w.Write(model.Layers.Count);
        foreach (ILayer layer in model.Layers)
        {
            w.Write(LayerTag(layer));
            w.Write(layer.Name);
            w.Write(layer.OutputSize);
            w.Write(layer is Dropout dropout ? dropout.Rate : 0f);
            WriteFloats(w, layer.Parameters.Span);
        }

        bool optimizer = includeOptimizer && model.IsCompiled;
        w.Write(optimizer);
        if (optimizer)
        {
            w.Write(model.Loss switch
            {
                SoftmaxCrossEntropy => "categorical_crossentropy",
                MeanSquaredError => "mean_squared_error",
                var other => throw new NotSupportedException($"The loss {other!.GetType().Name} cannot be saved; save without the optimizer."),
            });
            switch (model.Optimizer)
            {
                case Adam adam:
                    w.Write("adam");
                    w.Write(adam.LearningRate);
                    w.Write(adam.Options.Beta1);
                    w.Write(adam.Options.Beta2);
                    w.Write(adam.Options.Epsilon);
                    break;
                case Sgd sgd:
                    w.Write("sgd");
                    w.Write(sgd.LearningRate);
                    w.Write(sgd.Options.Momentum);
                    w.Write(sgd.Options.Nesterov);
                    break;
                default:
                    throw new NotSupportedException($"The optimizer {model.Optimizer!.GetType().Name} cannot be saved; save without the optimizer.");
            }

            w.Write(model.Optimizer.Iterations);
            WriteFloats(w, model.Optimizer.State.Span);
        }

        w.Flush();
        return body.ToArray();
    }

    private static string LayerTag(ILayer layer) => layer switch
    {
        Dense => "Dense",
        Relu => "ReLU",
        Dropout => "Dropout",
        Softmax => "Softmax",
        _ => throw new NotSupportedException(
            $"Layer '{layer.Name}' of type {layer.GetType().Name} cannot be saved: the format knows Dense, ReLU, Dropout and Softmax."),
    };

    private static void WriteFloats(BinaryWriter w, ReadOnlySpan<float> values)
    {
        w.Write(values.Length);
        w.Write(MemoryMarshal.AsBytes(values)); // little-endian on every platform .NET runs NeuralCore on
    }

    private static Sequential ReadBody(ref BodyReader r)
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
            ILayer layer = tag switch
            {
                "Dense" => new Dense(outputs, layerName),
                "ReLU" => new Relu(layerName),
                "Dropout" when rate is >= 0f and < 1f => new Dropout(rate, layerName),
                "Dropout" => throw r.Error($"layer {i} has dropout rate {rate}, outside [0, 1)"),
                "Softmax" => new Softmax(layerName),
                _ => throw r.Error($"layer {i} has unknown type '{tag}'"),
            };
            if (tag == "Dense")
            {
                // The parameter count below must match; check the shape first so Build cannot be asked for a huge layer.
                long count = ((long)model.OutputSize * outputs) + outputs;
                if (count > r.Remaining / sizeof(float))
                {
                    throw r.Error($"layer {i} (Dense {model.OutputSize}->{outputs}) needs {count} parameters, more than the file holds");
                }
            }

            model.Add(layer);
            if (layer.OutputSize != outputs)
            {
                throw r.Error($"layer {i} ({tag}) outputs {layer.OutputSize} features but the file says {outputs}");
            }

            parameters[i] = r.Floats($"parameters of layer {i}", layer.ParameterCount);
            parameters[i].CopyTo(layer.Parameters.Span);
        }

        if (r.Boolean())
        {
            ILoss loss = r.String("loss") switch
            {
                "categorical_crossentropy" => new SoftmaxCrossEntropy(),
                "mean_squared_error" => new MeanSquaredError(),
                var other => throw r.Error($"unknown loss '{other}'"),
            };
            IOptimizer optimizer;
            try
            {
                // The rate is the one the next step would use: a decay may have brought it to 0, which the options
                // (the starting rate) do not allow, so the optimizer starts from the default and is then set to it.
                float rate;
                switch (r.String("optimizer"))
                {
                    case "adam":
                        rate = r.Single();
                        optimizer = new Adam(new AdamOptions(rate == 0f ? 1e-3f : rate, r.Single(), r.Single(), r.Single()));
                        break;
                    case "sgd":
                        rate = r.Single();
                        optimizer = new Sgd(new SgdOptions(rate == 0f ? 1e-2f : rate, r.Single(), r.Boolean()));
                        break;
                    case var other:
                        throw r.Error($"unknown optimizer '{other}'");
                }

                optimizer.LearningRate = rate;
            }
            catch (ArgumentOutOfRangeException ex)
            {
                throw r.Error($"invalid optimizer options ({ex.Message})");
            }

            long iterations = r.Int64();
            if (iterations < 0)
            {
                throw r.Error($"negative optimizer step count {iterations}");
            }

            model.Compile(loss, optimizer);
            optimizer.SetIterations(iterations);
            r.Floats("optimizer state", optimizer.State.Length).CopyTo(optimizer.State.Span);
        }

        return model;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A bounds-checked little-endian reader whose every failure names the file.</summary>
    private ref struct BodyReader(ReadOnlySpan<byte> bytes, string name)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public readonly int Remaining => _bytes.Length - _position;

        public readonly bool AtEnd => _position == _bytes.Length;

        public readonly InvalidDataException Error(string problem) => new($"{name}: {problem}.");

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4, "an integer"));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8, "an integer"));

        public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, "an integer"));

        public float Single() => BinaryPrimitives.ReadSingleLittleEndian(Take(4, "a number"));

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
