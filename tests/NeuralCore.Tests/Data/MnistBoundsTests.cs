using System.Buffers.Binary;
using System.IO.Compression;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

/// <summary>
/// An MNIST images/labels pair whose headers declare <see cref="DeclaredImages"/> and <see cref="DeclaredLabels"/>
/// while their bodies hold <see cref="Images"/> images of <see cref="Side"/>² pixels and <see cref="Labels"/> labels
/// (each label <see cref="LabelValue"/>).
/// </summary>
public sealed record MnistPair(int DeclaredImages, int DeclaredLabels, int Images, int Labels, int Side, byte LabelValue);

public static class MnistPairGenerators
{
    // Counts: small ones (most of them true), and anywhere up to int.MaxValue.
    private static readonly Gen<int> Declared = Gen.OneOf(Gen.Choose(0, 6), Gen.Choose(0, int.MaxValue), Gen.Elements(10_000_000, 10_000_001, IdxReader.MaxElements / 784));

    public static Arbitrary<MnistPair> Pairs() =>
        (from images in Gen.Choose(0, 5)
         from labels in Gen.OneOf(Gen.Constant(images), Gen.Choose(0, 5))
         from declaredImages in Gen.OneOf(Gen.Constant(images), Declared)
         from declaredLabels in Gen.OneOf(Gen.Constant(declaredImages), Gen.Constant(labels), Declared)
         from side in Gen.Elements(28, 28, 28, 27)
         from value in Gen.Elements<byte>(0, 9, 10, 255)
         select new MnistPair(declaredImages, declaredLabels, images, labels, side, value))
        .ToArbitrary();
}

/// <summary>Hostile MNIST files are refused from their headers, before a body is read or decompressed.</summary>
public sealed class MnistBoundsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("neuralcore-bounds-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, int magic, int[] dims, long bodyBytes, byte fill = 0)
    {
        string path = Path.Combine(_dir, name);
        using var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        byte[] header = new byte[4 + (4 * dims.Length)];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (int i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + (4 * i)), dims[i]);
        }

        gzip.Write(header);
        byte[] zeros = new byte[(int)Math.Min(1 << 20, bodyBytes)];
        zeros.AsSpan().Fill(fill);
        for (long left = bodyBytes; left > 0; left -= zeros.Length)
        {
            gzip.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
        }

        return path;
    }

    [Property(Arbitrary = [typeof(MnistPairGenerators)], MaxTest = 300)]
    public void Pairs_with_any_declared_counts_load_only_when_true_and_are_otherwise_refused_within_the_bound(MnistPair p)
    {
        // Mismatched counts must be refused from the two headers, before either body is read; counts that agree but
        // lie must be refused as the body falls short or runs over, never after allocating what they declare.
        string images = Write("images.gz", Mnist.ImagesMagic, [p.DeclaredImages, p.Side, p.Side], (long)p.Images * p.Side * p.Side);
        string labels = Write("labels.gz", Mnist.LabelsMagic, [p.DeclaredLabels], p.Labels, p.LabelValue);
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            Dataset data = Mnist.LoadFiles(images, labels);
            Assert.True(p.DeclaredImages == p.Images && p.DeclaredLabels == p.Labels && p.Images == p.Labels && p.Images > 0 && p.Side == 28 && p.LabelValue <= 9,
                $"an inconsistent or empty pair loaded as {data.Count} samples");
            Assert.Equal(p.Images, data.Count);
        }
        catch (InvalidDataException e)
        {
            // A true pair must load (an empty one is refused as empty).
            Assert.False(p.DeclaredImages == p.Images && p.DeclaredLabels == p.Labels && p.Images == p.Labels && p.Images > 0 && p.Side == 28 && p.LabelValue <= 9,
                $"a true pair of {p.Images} samples was refused: {e.Message}");
            if (p.DeclaredImages != p.DeclaredLabels)
            {
                Assert.EndsWith("expected equal counts (refused from the headers, before reading either body).", e.Message, StringComparison.Ordinal);
            }
        }

        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, IdxReaderTests.AllocationLimit);
    }

    [Fact]
    public void Images_declaring_more_than_their_labels_are_refused_before_their_body()
    {
        string labels = Write("labels.gz", Mnist.LabelsMagic, [3], 3);
        // A consistent gzip "bomb": 100,000 images of zeros, 78 MB that compress to well under 1 MB.
        string images = Write("images.gz", Mnist.ImagesMagic, [100_000, 28, 28], 100_000L * 784);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InvalidDataException>(() => Mnist.LoadFiles(images, labels));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("images.gz holds 100000 images but", ex.Message, StringComparison.Ordinal);
        Assert.Contains("labels.gz holds 3 labels", ex.Message, StringComparison.Ordinal);
        Assert.True(allocated < 8 << 20, $"refusing the images allocated {allocated} bytes: the body was read");
    }

    [Fact]
    public void Labels_declaring_more_than_their_images_are_refused_before_their_body()
    {
        // 5,000,000 labels of zeros (5 MB that compress to a few KB) beside 3 images: the labels' body was read and
        // turned into 20 MB of ints before the images' header was looked at.
        string labels = Write("labels.gz", Mnist.LabelsMagic, [5_000_000], 5_000_000);
        string images = Write("images.gz", Mnist.ImagesMagic, [3, 28, 28], 3 * 784);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InvalidDataException>(() => Mnist.LoadFiles(images, labels));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("images.gz holds 3 images but", ex.Message, StringComparison.Ordinal);
        Assert.Contains("labels.gz holds 5000000 labels", ex.Message, StringComparison.Ordinal);
        Assert.True(allocated < 1 << 20, $"refusing the pair allocated {allocated} bytes: the labels' body was read");
    }

    [Fact]
    public void The_sample_limit_is_an_option()
    {
        string labels = Write("labels.gz", Mnist.LabelsMagic, [5], 5);
        string images = Write("images.gz", Mnist.ImagesMagic, [5, 28, 28], 5 * 784);
        Assert.Equal(5, Mnist.LoadFiles(images, labels).Count);
        var ex = Assert.Throws<InvalidDataException>(() => Mnist.LoadFiles(images, labels, maxSamples: 4));
        Assert.Contains("more than the 4 this reader was allowed", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Mnist.LoadFiles(images, labels, maxSamples: 0));
    }

    [Fact]
    public void The_sample_limit_is_an_option_of_the_folder_loaders_too()
    {
        Write(Mnist.TrainLabelsFile, Mnist.LabelsMagic, [5], 5);
        Write(Mnist.TrainImagesFile, Mnist.ImagesMagic, [5, 28, 28], 5 * 784);
        Write(Mnist.TestLabelsFile, Mnist.LabelsMagic, [3], 3);
        Write(Mnist.TestImagesFile, Mnist.ImagesMagic, [3, 28, 28], 3 * 784);
        MnistDataset data = Mnist.Load(_dir, maxSamples: 5, CancellationToken.None);
        Assert.Equal((5, 3), (data.Train.Count, data.Test.Count));
        Assert.Equal(3, Mnist.Load(_dir, MnistSplit.Test, maxSamples: 3, CancellationToken.None).Count);
        var ex = Assert.Throws<InvalidDataException>(() => Mnist.Load(_dir, maxSamples: 4, CancellationToken.None));
        Assert.Contains(Mnist.TrainLabelsFile, ex.Message, StringComparison.Ordinal);
        Assert.Contains("more than the 4 this reader was allowed", ex.Message, StringComparison.Ordinal);
        Assert.Equal("maxSamples", Assert.Throws<ArgumentOutOfRangeException>(
            () => Mnist.Load(_dir, MnistSplit.Train, maxSamples: 0, CancellationToken.None)).ParamName);
    }

    [Fact]
    public void A_sample_limit_beyond_any_file_is_refused_naming_maxSamples()
    {
        // int.MaxValue was refused by the IDX reader, in a message naming its own parameter, maxElements.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Mnist.LoadFiles("images", "labels", int.MaxValue));
        Assert.Equal("maxSamples", e.ParamName);
        Assert.Contains($"maxSamples={int.MaxValue}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{IdxReader.MaxElements}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_whose_images_no_array_holds_are_refused_naming_the_file()
    {
        // One label more than 784-pixel images fit in one array: the images' limit went to the IDX reader, which
        // refused it as an argument (maxElements) of a call the caller never made.
        int count = (IdxReader.MaxElements / Mnist.Features) + 1;
        string labels = Write("labels.gz", Mnist.LabelsMagic, [count], count);
        string images = Write("images.gz", Mnist.ImagesMagic, [count, 28, 28], 0);
        var e = Assert.Throws<InvalidDataException>(() => Mnist.LoadFiles(images, labels));
        Assert.Contains($"labels.gz holds {count} labels", e.Message, StringComparison.Ordinal);
    }
}
