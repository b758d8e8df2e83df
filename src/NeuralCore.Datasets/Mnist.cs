using System.Runtime.InteropServices;

namespace NeuralCore.Data;

/// <summary>
/// Loads MNIST from a folder holding the four standard IDX files (<see cref="FileNames"/>), gzip-compressed or not:
/// each file is looked up by its <c>.gz</c> name first, then by the same name without <c>.gz</c>.
/// </summary>
/// <remarks>
/// Pixels become floats <c>value / 255f</c> in [0, 1], laid out <c>[count, 784]</c> row-major; labels become ints 0..9.
/// To find the folder (explicit, repository copy, cache, or download), use <see cref="MnistLocator"/>.
/// </remarks>
public static class Mnist
{
    /// <summary>Image height and width in pixels.</summary>
    public const int ImageSize = 28;

    /// <summary>Features per sample: 28 × 28 = 784.</summary>
    public const int Features = ImageSize * ImageSize;

    /// <summary>The number of classes (digits 0..9).</summary>
    public const int Classes = 10;

    /// <summary>The magic number of an images file: unsigned bytes, 3 dimensions.</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>The magic number of a labels file: unsigned bytes, 1 dimension.</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>The training images file.</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte.gz";

    /// <summary>The training labels file.</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte.gz";

    /// <summary>The test images file.</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte.gz";

    /// <summary>The test labels file.</summary>
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte.gz";

    /// <summary>The four standard file names, gzip form: train images, train labels, test images, test labels.</summary>
    public static IReadOnlyList<string> FileNames { get; } = [TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile];

    /// <summary>Loads both splits from <paramref name="directory"/>.</summary>
    /// <param name="directory">A folder holding the four files.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null, empty or holds a NUL character.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder, or a folder above it, may not be searched by this user, or a file may not be read; the message names it.</exception>
    /// <exception cref="FileNotFoundException">A file is missing under both of its names; the message names both.</exception>
    /// <exception cref="InvalidDataException">
    /// A file is not valid IDX (see <see cref="IdxReader"/>), has the wrong magic number or image size, the image and
    /// label counts differ, or a label is above 9; the message names the file.
    /// </exception>
    public static MnistDataset Load(string directory) => Load(directory, CancellationToken.None);

    /// <summary>
    /// <see cref="Load(string)"/> that stops, throwing <see cref="OperationCanceledException"/>, within about a
    /// megabyte of reading once <paramref name="cancellationToken"/> is cancelled (a Ctrl+C while the data loads).
    /// </summary>
    /// <param name="directory">A folder holding the four files.</param>
    /// <param name="cancellationToken">Stops the loading.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null, empty or holds a NUL character.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder, or a folder above it, may not be searched by this user, or a file may not be read; the message names it.</exception>
    /// <exception cref="FileNotFoundException">A file is missing under both of its names.</exception>
    /// <exception cref="IOException">A file is a directory, a named pipe, a device or a socket.</exception>
    /// <exception cref="InvalidDataException">A file's contents are invalid (see <see cref="Load(string)"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static MnistDataset Load(string directory, CancellationToken cancellationToken) =>
        Load(directory, DefaultMaxSamples, cancellationToken);

    /// <summary>
    /// <see cref="Load(string, CancellationToken)"/> accepting at most <paramref name="maxSamples"/> samples in each
    /// split: a split declaring more is refused from its headers (see <see cref="LoadFiles(string, string, int, CancellationToken)"/>).
    /// </summary>
    /// <param name="directory">A folder holding the four files.</param>
    /// <param name="maxSamples">The most samples accepted per split, from 1 to <see cref="IdxReader.MaxElements"/>; <see cref="DefaultMaxSamples"/> by default.</param>
    /// <param name="cancellationToken">Stops the loading.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null, empty or holds a NUL character.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSamples"/> is not positive, or above <see cref="IdxReader.MaxElements"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder, or a folder above it, may not be searched by this user, or a file may not be read; the message names it.</exception>
    /// <exception cref="FileNotFoundException">A file is missing under both of its names.</exception>
    /// <exception cref="IOException">A file is a directory, a named pipe, a device or a socket.</exception>
    /// <exception cref="InvalidDataException">A file's contents are invalid (see <see cref="Load(string)"/>), or a split holds more than <paramref name="maxSamples"/> samples.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static MnistDataset Load(string directory, int maxSamples, CancellationToken cancellationToken)
    {
        PathArgument.Require(directory, nameof(directory));
        RequireMaxSamples(maxSamples);
        // The two splits decompress in parallel: the training images (47 MB) take most of the time.
        Task<Dataset> test = Task.Run(() => Load(directory, MnistSplit.Test, maxSamples, cancellationToken), CancellationToken.None);
        Dataset train;
        try
        {
            train = Load(directory, MnistSplit.Train, maxSamples, cancellationToken);
        }
        catch
        {
            // Wait for the other split and observe its outcome, so that its failure (a cancellation too) is not left
            // unobserved; this split's exception is the one reported.
            try
            {
                test.Wait(CancellationToken.None);
            }
            catch (AggregateException)
            {
            }

            throw;
        }

        return new MnistDataset(train, test.GetAwaiter().GetResult());
    }

    /// <summary>Loads one split from <paramref name="directory"/>.</summary>
    /// <param name="directory">A folder holding that split's two files.</param>
    /// <param name="split">Which split.</param>
    /// <returns>The samples: <c>[count, 784]</c> pixels in [0, 1] and <c>[count]</c> labels 0..9.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null, empty or holds a NUL character.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="split"/> is not defined.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder, or a folder above it, may not be searched by this user, or a file may not be read; the message names it.</exception>
    /// <exception cref="FileNotFoundException">A file is missing under both of its names.</exception>
    /// <exception cref="InvalidDataException">A file's contents are invalid (see <see cref="Load(string)"/>).</exception>
    public static Dataset Load(string directory, MnistSplit split) => Load(directory, split, CancellationToken.None);

    /// <summary><see cref="Load(string, MnistSplit)"/> that stops once <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="directory">A folder holding that split's two files.</param>
    /// <param name="split">Which split.</param>
    /// <param name="cancellationToken">Stops the loading.</param>
    /// <returns>The samples.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null, empty or holds a NUL character.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="split"/> is not defined.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder, or a folder above it, may not be searched by this user, or a file may not be read; the message names it.</exception>
    /// <exception cref="FileNotFoundException">A file is missing under both of its names.</exception>
    /// <exception cref="IOException">A file is a directory, a named pipe, a device or a socket.</exception>
    /// <exception cref="InvalidDataException">A file's contents are invalid (see <see cref="Load(string)"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Dataset Load(string directory, MnistSplit split, CancellationToken cancellationToken) =>
        Load(directory, split, DefaultMaxSamples, cancellationToken);

    /// <summary><see cref="Load(string, MnistSplit, CancellationToken)"/> accepting at most <paramref name="maxSamples"/> samples.</summary>
    /// <param name="directory">A folder holding that split's two files.</param>
    /// <param name="split">Which split.</param>
    /// <param name="maxSamples">The most samples accepted, from 1 to <see cref="IdxReader.MaxElements"/>; <see cref="DefaultMaxSamples"/> by default.</param>
    /// <param name="cancellationToken">Stops the loading.</param>
    /// <returns>The samples.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null, empty or holds a NUL character.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="split"/> is not defined, or <paramref name="maxSamples"/> is not positive or above <see cref="IdxReader.MaxElements"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder, or a folder above it, may not be searched by this user, or a file may not be read; the message names it.</exception>
    /// <exception cref="FileNotFoundException">A file is missing under both of its names.</exception>
    /// <exception cref="IOException">A file is a directory, a named pipe, a device or a socket.</exception>
    /// <exception cref="InvalidDataException">A file's contents are invalid (see <see cref="Load(string)"/>), or the split holds more than <paramref name="maxSamples"/> samples.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Dataset Load(string directory, MnistSplit split, int maxSamples, CancellationToken cancellationToken)
    {
        PathArgument.Require(directory, nameof(directory));
        RequireMaxSamples(maxSamples);
        (string images, string labels) = split switch
        {
            MnistSplit.Train => (TrainImagesFile, TrainLabelsFile),
            MnistSplit.Test => (TestImagesFile, TestLabelsFile),
            _ => throw new ArgumentOutOfRangeException(nameof(split), split, $"Expected Train or Test. Received: split={split}."),
        };

        RequireFolder(Path.GetFullPath(directory));
        return LoadFiles(FindFile(directory, images), FindFile(directory, labels), maxSamples, cancellationToken);
    }

    /// <summary>Throws unless <paramref name="full"/> is a folder, saying whether it is missing, a file, or out of reach.</summary>
    /// <exception cref="DirectoryNotFoundException">It does not exist, or it is a file (a regular file was reported as missing).</exception>
    /// <exception cref="UnauthorizedAccessException">A folder above it may not be searched by this user (permission denied, not reported as missing).</exception>
    internal static void RequireFolder(string full)
    {
        if (Directory.Exists(full))
        {
            return;
        }

        // Directory.Exists is false for a folder this user may not reach as well as for a missing one; only stat tells
        // them apart (EACCES, not ENOENT).
        try
        {
            _ = File.GetAttributes(full);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException(
                $"The MNIST folder '{full}' cannot be reached: a folder above it does not let this user look inside (permission denied).", e);
        }
        catch (IOException)
        {
            throw new DirectoryNotFoundException($"The MNIST folder does not exist: '{full}'.");
        }

        throw new DirectoryNotFoundException($"The MNIST folder '{full}' is a file; give the folder that holds the four MNIST files.");
    }

    /// <summary>Loads one split from an images file and a labels file, raw or gzip-compressed.</summary>
    /// <param name="imagesPath">An IDX file of <c>n × 28 × 28</c> unsigned bytes (magic <c>0x00000803</c>).</param>
    /// <param name="labelsPath">An IDX file of <c>n</c> unsigned bytes 0..9 (magic <c>0x00000801</c>).</param>
    /// <returns>The samples: <c>[n, 784]</c> pixels <c>value / 255f</c> and <c>[n]</c> labels.</returns>
    /// <exception cref="ArgumentException">A path is null or empty.</exception>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">A file's contents are invalid (see <see cref="Load(string)"/>).</exception>
    public static Dataset LoadFiles(string imagesPath, string labelsPath) => LoadFiles(imagesPath, labelsPath, DefaultMaxSamples);

    /// <summary>
    /// The most samples <see cref="LoadFiles(string, string)"/> accepts by default: ten million, 7.8 GB of pixels, about
    /// 140 times MNIST's training set.
    /// </summary>
    public const int DefaultMaxSamples = 10_000_000;

    /// <summary>
    /// Loads one split, accepting at most <paramref name="maxSamples"/> samples. Both headers are read first and must
    /// declare the same count, or the pair is refused before either body is read or decompressed; the labels are read
    /// next, and the images must declare exactly as many images of 28×28: a compressed file can never expand beyond
    /// what the labels and this limit allow, nor beyond the memory the process may use.
    /// </summary>
    /// <param name="imagesPath">An IDX file of <c>n × 28 × 28</c> unsigned bytes.</param>
    /// <param name="labelsPath">An IDX file of <c>n</c> unsigned bytes 0..9.</param>
    /// <param name="maxSamples">The most samples accepted, from 1 to <see cref="IdxReader.MaxElements"/>.</param>
    /// <returns>The samples.</returns>
    /// <exception cref="ArgumentException">A path is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSamples"/> is not positive, or above <see cref="IdxReader.MaxElements"/>.</exception>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// A file's contents are invalid, the counts differ, they exceed the limit, or the labels are more than one array of
    /// images holds (<see cref="IdxReader.MaxElements"/> / 784).
    /// </exception>
    /// <exception cref="InsufficientMemoryException">The images need more memory than the process may use.</exception>
    public static Dataset LoadFiles(string imagesPath, string labelsPath, int maxSamples) =>
        LoadFiles(imagesPath, labelsPath, maxSamples, CancellationToken.None);

    /// <summary><see cref="LoadFiles(string, string, int)"/> that stops once <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="imagesPath">An IDX file of <c>n × 28 × 28</c> unsigned bytes.</param>
    /// <param name="labelsPath">An IDX file of <c>n</c> unsigned bytes 0..9.</param>
    /// <param name="maxSamples">The most samples accepted, from 1 to <see cref="IdxReader.MaxElements"/>.</param>
    /// <param name="cancellationToken">Stops the loading.</param>
    /// <returns>The samples.</returns>
    /// <exception cref="ArgumentException">A path is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxSamples"/> is not positive, or above <see cref="IdxReader.MaxElements"/>.</exception>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="IOException">A path is a directory, a named pipe, a device or a socket.</exception>
    /// <exception cref="InvalidDataException">
    /// A file's contents are invalid, the counts differ, they exceed the limit, or the labels are more than one array of
    /// images holds (<see cref="IdxReader.MaxElements"/> / 784).
    /// </exception>
    /// <exception cref="InsufficientMemoryException">The images need more memory than the process may use.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Dataset LoadFiles(string imagesPath, string labelsPath, int maxSamples, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        RequireMaxSamples(maxSamples);

        // The counts are compared from both headers, before either body is read or decompressed: a labels file that
        // disagrees with its images costs nothing but two headers. A header the reader cannot parse is left to Read,
        // whose message says what is wrong with it.
        if (IdxReader.ReadDimensions(labelsPath) is [int declaredLabels, ..]
            && IdxReader.ReadDimensions(imagesPath) is [int declaredImages, ..]
            && declaredImages != declaredLabels)
        {
            throw new InvalidDataException(
                $"{imagesPath} holds {declaredImages} images but {labelsPath} holds {declaredLabels} labels; expected equal counts (refused from the headers, before reading either body).");
        }

        IdxFile labels = IdxReader.Read(labelsPath, maxSamples, cancellationToken);
        int[] labelValues = ToLabels(labels);
        long pixels = (long)labelValues.Length * Features;
        // The images are read into one array too: this is the file's fault, not an argument's, which the reader's
        // refusal of its limit (maxElements) said.
        if (pixels > IdxReader.MaxElements)
        {
            throw new InvalidDataException(
                $"{labels.Name} holds {labelValues.Length} labels, whose images hold {pixels} pixels, more than the {IdxReader.MaxElements} one array holds: at most {IdxReader.MaxElements / Features} samples load at once.");
        }

        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available > 0 && pixels > available)
        {
            throw new InsufficientMemoryException(
                $"{labels.Name} holds {labelValues.Length} labels, whose images need {pixels >> 20} MiB, more than the {available >> 20} MiB this process may use.");
        }

        IdxFile images = IdxReader.Read(imagesPath, pixels, cancellationToken);
        return FromIdx(images, labelValues, labels.Name);
    }

    private static void RequireMaxSamples(int maxSamples)
    {
        // The labels are one IDX file, so a larger limit is never reached; passed on, it was refused by the reader
        // under its own parameter's name, maxElements.
        Check.InRange(maxSamples, 1, IdxReader.MaxElements, nameof(maxSamples), "maxSamples (no more than one IDX file holds)");
    }

    /// <summary>Whether <paramref name="directory"/> exists and holds all four files (under either name).</summary>
    /// <param name="directory">The folder.</param>
    /// <returns>True when every file is present; their contents are not checked.</returns>
    public static bool HasAllFiles(string directory) =>
        Directory.Exists(directory) && FileNames.All(name => TryFindFile(directory, name) is not null);

    /// <summary>The path of <paramref name="gzName"/> in <paramref name="directory"/>, or of the same name without <c>.gz</c>.</summary>
    /// <exception cref="FileNotFoundException">Neither exists.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder may not be searched by this user (its files were reported as missing).</exception>
    internal static string FindFile(string directory, string gzName)
    {
        if (TryFindFile(directory, gzName) is { } found)
        {
            return found;
        }

        // Path.Exists is false when the folder lacks search permission too: stat says which.
        try
        {
            _ = File.GetAttributes(Path.Combine(directory, gzName));
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException(
                $"The MNIST folder '{Path.GetFullPath(directory)}' does not let this user look inside for '{gzName}' (permission denied).", e);
        }
        catch (IOException)
        {
            // Missing, as Path.Exists said.
        }

        throw new FileNotFoundException(
            $"MNIST file missing: neither '{gzName}' nor '{Path.GetFileNameWithoutExtension(gzName)}' is in '{Path.GetFullPath(directory)}'.",
            Path.Combine(directory, gzName));
    }

    // Anything at the path counts as found (Path.Exists, not File.Exists): a directory under a file's name was
    // reported as a missing file; found, the reader refuses it as a directory, by name (InputFile.RequireRegular).
    private static string? TryFindFile(string directory, string gzName)
    {
        string gz = Path.Combine(directory, gzName);
        if (Path.Exists(gz))
        {
            return gz;
        }

        string raw = Path.Combine(directory, Path.GetFileNameWithoutExtension(gzName));
        return Path.Exists(raw) ? raw : null;
    }

    private static int[] ToLabels(IdxFile labels)
    {
        if (labels.Magic != LabelsMagic)
        {
            throw new InvalidDataException(
                $"{labels.Name}: expected an MNIST labels file (magic 0x{LabelsMagic:X8}: unsigned bytes, 1 dimension), found magic 0x{labels.Magic:X8} with dimensions {string.Join('×', labels.Dimensions)}.");
        }

        ReadOnlySpan<byte> bytes = labels.Data.Span;
        int bad = bytes.IndexOfAnyExceptInRange((byte)0, (byte)(Classes - 1));
        if (bad >= 0)
        {
            throw new InvalidDataException(
                $"{labels.Name}: label at index {bad} is {bytes[bad]}; expected 0..{Classes - 1}.");
        }

        var values = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            values[i] = bytes[i];
        }

        return values;
    }

    private static Dataset FromIdx(IdxFile images, int[] labels, string labelsName)
    {
        if (images.Magic != ImagesMagic)
        {
            throw new InvalidDataException(
                $"{images.Name}: expected an MNIST images file (magic 0x{ImagesMagic:X8}: unsigned bytes, 3 dimensions), found magic 0x{images.Magic:X8} with dimensions {string.Join('×', images.Dimensions)}.");
        }

        if (images.Dimensions[1] != ImageSize || images.Dimensions[2] != ImageSize)
        {
            throw new InvalidDataException(
                $"{images.Name}: expected {ImageSize}×{ImageSize} images, found {images.Dimensions[1]}×{images.Dimensions[2]}.");
        }

        int count = images.Dimensions[0];
        if (count != labels.Length)
        {
            throw new InvalidDataException(
                $"{images.Name} holds {count} images but {labelsName} holds {labels.Length} labels; expected equal counts.");
        }

        // An empty pair read as a dataset of no samples, which every use then refused without naming the files.
        if (count == 0)
        {
            throw new InvalidDataException($"{images.Name} and {labelsName} hold no images: an MNIST file holds at least one.");
        }

        // Kept as bytes: each read divides by 255 exactly (a true division, not a multiplication by 1/255, which
        // rounds differently). Converting all 47 M training pixels up front took longer than decompressing them,
        // most of it in the first touch of the 188 MB float array.
        byte[] pixels = MemoryMarshal.TryGetArray(images.Data, out ArraySegment<byte> segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : images.Data.ToArray();
        return Dataset.FromBytes(pixels, labels, Features, 255f);
    }
}
