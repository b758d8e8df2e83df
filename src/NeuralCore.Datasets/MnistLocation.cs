namespace NeuralCore.Data;

/// <summary>Where <see cref="MnistLocator"/> found the MNIST files.</summary>
public enum MnistSource
{
    /// <summary>The folder the caller named.</summary>
    Explicit,

    /// <summary>The repository copy, <c>data/mnist/</c> in an ancestor of the program's or the current folder.</summary>
    Repository,

    /// <summary>The download cache, already holding verified files.</summary>
    Cache,

    /// <summary>The download cache, just filled by <see cref="MnistDownloader"/>.</summary>
    Download,
}

/// <summary>A folder holding the four MNIST files, and how it was found.</summary>
/// <param name="Directory">The folder's full path; <see cref="Mnist.Load(string)"/> reads it.</param>
/// <param name="Source">Where it was found.</param>
public sealed record MnistLocation(string Directory, MnistSource Source);
