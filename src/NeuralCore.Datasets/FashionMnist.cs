namespace NeuralCore.Data;

/// <summary>
/// Fashion-MNIST (Zalando Research, MIT licence): 70,000 28×28 grey images of ten kinds of clothing in MNIST's exact
/// format and file names, a harder drop-in for MNIST. Located like MNIST: an explicit folder, a repository copy in
/// <c>data/fashion-mnist/</c>, the cache, then a download from the publisher, each file checked against the MD5 sum the
/// publisher lists (the only sums it publishes). Loaded with <see cref="Mnist.Load(string)"/>.
/// </summary>
public static class FashionMnist
{
    /// <summary>The repository copy's folder, relative to a repository root.</summary>
    public static readonly string RepositoryFolder = Path.Combine("data", "fashion-mnist");

    /// <summary>The names of the ten classes, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The publisher's download location.</summary>
    public static IReadOnlyList<Uri> DefaultMirrors { get; } = [new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")];

    /// <summary>
    /// The MD5 sum of each file as the publisher's README lists it (github.com/zalandoresearch/fashion-mnist); the two
    /// label files were also checked against copies of the files themselves. A plain-http download is safe against
    /// corruption by these sums, not against a deliberate forgery.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Checksums { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [Mnist.TrainImagesFile] = MnistDownloader.Md5Prefix + "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        [Mnist.TrainLabelsFile] = MnistDownloader.Md5Prefix + "25c81989df183df01b3e8a0aad5dffbe",
        [Mnist.TestImagesFile] = MnistDownloader.Md5Prefix + "bef4ecab320f06d8554ea6380940ec79",
        [Mnist.TestLabelsFile] = MnistDownloader.Md5Prefix + "bb300cfdad3c16e7a12a480ee83cd310",
    }.AsReadOnly();

    /// <summary>The default cache folder: <c>neuralcore/fashion-mnist</c> beside MNIST's.</summary>
    public static string DefaultCacheDirectory => Path.Combine(Path.GetDirectoryName(MnistDownloader.DefaultCacheDirectory)!, "fashion-mnist");

    /// <summary>A downloader of Fashion-MNIST into <paramref name="cacheDirectory"/> (default <see cref="DefaultCacheDirectory"/>).</summary>
    /// <param name="httpClient">The client; not disposed by the downloader.</param>
    /// <param name="cacheDirectory">The cache folder, or null for the default.</param>
    /// <param name="mirrors">Base URLs tried in order, or null for <see cref="DefaultMirrors"/>.</param>
    /// <returns>The downloader.</returns>
    /// <exception cref="ArgumentException"><paramref name="cacheDirectory"/> is empty or holds a NUL character.</exception>
    public static MnistDownloader CreateDownloader(HttpClient httpClient, string? cacheDirectory = null, IEnumerable<Uri>? mirrors = null) =>
        new(httpClient, cacheDirectory ?? DefaultCacheDirectory, mirrors ?? DefaultMirrors, Checksums);

    /// <summary>Finds the four files: <paramref name="explicitDirectory"/>, else a repository copy, else the cache, else a download.</summary>
    /// <param name="explicitDirectory">A folder the caller chose, or null to search.</param>
    /// <param name="downloader">The cache and mirrors, or null for <see cref="CreateDownloader"/>'s defaults.</param>
    /// <param name="searchFrom">Where to start looking for the repository copy; null for <see cref="MnistLocator.DefaultSearchStarts"/>.</param>
    /// <param name="allowDownload">False to fail instead of downloading.</param>
    /// <param name="cancellationToken">Cancels the hashing, downloads and loading.</param>
    /// <returns>The folder and where it was found.</returns>
    /// <exception cref="ArgumentException"><paramref name="explicitDirectory"/> is empty or holds a NUL character.</exception>
    /// <exception cref="DirectoryNotFoundException"><paramref name="explicitDirectory"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">A file is missing from <paramref name="explicitDirectory"/>, or nothing was found and downloading is off.</exception>
    /// <exception cref="IOException">A download failed on every mirror.</exception>
    public static async Task<MnistLocation> ResolveAsync(
        string? explicitDirectory = null,
        MnistDownloader? downloader = null,
        IEnumerable<string>? searchFrom = null,
        bool allowDownload = true,
        CancellationToken cancellationToken = default)
    {
        if (explicitDirectory is not null)
        {
            return await MnistLocator.ResolveAsync(explicitDirectory, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        if (MnistLocator.FindCopy(searchFrom ?? MnistLocator.DefaultSearchStarts, RepositoryFolder) is { } repository)
        {
            return new MnistLocation(repository, MnistSource.Repository);
        }

        using HttpClient? owned = downloader is null ? new HttpClient() : null;
        return await MnistLocator.FromCacheOrDownloadAsync(downloader ?? CreateDownloader(owned!), allowDownload, "Fashion-MNIST", RepositoryFolder, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Finds the files (<see cref="ResolveAsync"/>) and loads both splits.</summary>
    /// <param name="explicitDirectory">A folder the caller chose, or null to search.</param>
    /// <param name="downloader">The cache and mirrors, or null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the hashing, downloads and loading.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="ArgumentException"><paramref name="explicitDirectory"/> is empty or holds a NUL character.</exception>
    /// <exception cref="IOException">A download failed on every mirror.</exception>
    /// <exception cref="InvalidDataException">A file's contents are invalid.</exception>
    public static async Task<MnistDataset> LoadAsync(string? explicitDirectory = null, MnistDownloader? downloader = null, CancellationToken cancellationToken = default)
    {
        MnistLocation location = await ResolveAsync(explicitDirectory, downloader, cancellationToken: cancellationToken).ConfigureAwait(false);
        return Mnist.Load(location.Directory, cancellationToken);
    }
}
