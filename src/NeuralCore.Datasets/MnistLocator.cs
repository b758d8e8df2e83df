namespace NeuralCore.Data;

/// <summary>
/// Finds the MNIST files, in order: an explicit folder; the repository copy <c>data/mnist/</c>; the download cache;
/// and only then a download.
/// </summary>
public static class MnistLocator
{
    /// <summary>The repository copy's folder, relative to the repository root.</summary>
    public static readonly string RepositoryFolder = Path.Combine("data", "mnist");

    /// <summary>Where the search for the repository copy starts by default: the program's folder, then the current folder.</summary>
    public static IReadOnlyList<string> DefaultSearchStarts => [AppContext.BaseDirectory, Environment.CurrentDirectory];

    /// <summary>
    /// Walks up from each of <paramref name="startDirectories"/> (in order, then each one's ancestors) to the first
    /// folder whose <c>data/mnist/</c> holds all four MNIST files (see <see cref="Mnist.HasAllFiles"/>).
    /// </summary>
    /// <remarks>
    /// The marker is the complete set of files rather than <c>NeuralCore.sln</c>: the library ships as a package, and a
    /// consumer's repository can keep its own <c>data/mnist/</c>. A partial folder is passed over; the files'
    /// contents are checked when they are loaded.
    /// </remarks>
    /// <param name="startDirectories">The folders to start from; missing ones are skipped.</param>
    /// <returns>The full path of the <c>data/mnist</c> folder, or null when there is none.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="startDirectories"/> is null.</exception>
    public static string? FindRepositoryCopy(IEnumerable<string> startDirectories) => FindCopy(startDirectories, RepositoryFolder);

    /// <summary>The first <paramref name="relativeFolder"/> holding the four files, walking up from each start.</summary>
    internal static string? FindCopy(IEnumerable<string> startDirectories, string relativeFolder)
    {
        ArgumentNullException.ThrowIfNull(startDirectories);
        foreach (string start in startDirectories)
        {
            if (string.IsNullOrEmpty(start))
            {
                continue;
            }

            for (DirectoryInfo? folder = new(Path.GetFullPath(start)); folder is not null; folder = folder.Parent)
            {
                string candidate = Path.Combine(folder.FullName, relativeFolder);
                if (Mnist.HasAllFiles(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Finds a folder holding the four MNIST files: <paramref name="explicitDirectory"/> if given (it must hold them);
    /// else the repository copy (<see cref="FindRepositoryCopy"/>); else the download cache if every file there has its
    /// expected SHA-256; else downloads into the cache.
    /// </summary>
    /// <param name="explicitDirectory">A folder the caller chose, or null to search.</param>
    /// <param name="downloader">
    /// The cache and mirrors to use; null for a <see cref="MnistDownloader"/> with the defaults (default cache folder,
    /// default mirrors, its own <see cref="HttpClient"/> created only if a download is needed).
    /// </param>
    /// <param name="searchFrom">Where to start looking for the repository copy; null for <see cref="DefaultSearchStarts"/>.</param>
    /// <param name="allowDownload">False to fail instead of downloading.</param>
    /// <param name="cancellationToken">Cancels the hashing and downloads.</param>
    /// <returns>The folder and where it was found.</returns>
    /// <exception cref="ArgumentException"><paramref name="explicitDirectory"/> is empty or holds a NUL character.</exception>
    /// <exception cref="DirectoryNotFoundException"><paramref name="explicitDirectory"/> does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder, or a folder above it, may not be searched by this user, or a file may not be read; the message names it.</exception>
    /// <exception cref="FileNotFoundException">
    /// <paramref name="explicitDirectory"/> lacks a file (the message names it), or nothing was found and
    /// <paramref name="allowDownload"/> is false.
    /// </exception>
    /// <exception cref="IOException">A download failed on every mirror; the message lists each failure.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<MnistLocation> ResolveAsync(
        string? explicitDirectory = null,
        MnistDownloader? downloader = null,
        IEnumerable<string>? searchFrom = null,
        bool allowDownload = true,
        CancellationToken cancellationToken = default)
    {
        if (explicitDirectory is not null)
        {
            string full = PathArgument.FullPath(explicitDirectory, nameof(explicitDirectory));
            Mnist.RequireFolder(full);

            foreach (string name in Mnist.FileNames)
            {
                _ = Mnist.FindFile(full, name);
            }

            return new MnistLocation(full, MnistSource.Explicit);
        }

        string? repository = FindRepositoryCopy(searchFrom ?? DefaultSearchStarts);
        if (repository is not null)
        {
            return new MnistLocation(repository, MnistSource.Repository);
        }

        if (downloader is not null)
        {
            return await FromCacheOrDownloadAsync(downloader, allowDownload, "MNIST", RepositoryFolder, cancellationToken).ConfigureAwait(false);
        }

        using var httpClient = new HttpClient();
        return await FromCacheOrDownloadAsync(new MnistDownloader(httpClient), allowDownload, "MNIST", RepositoryFolder, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Finds the files with <see cref="ResolveAsync"/> and loads both splits.</summary>
    /// <param name="explicitDirectory">A folder the caller chose, or null to search.</param>
    /// <param name="downloader">The cache and mirrors to use, or null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the hashing, downloads and loading.</param>
    /// <returns>The training and test sets.</returns>
    /// <exception cref="ArgumentException"><paramref name="explicitDirectory"/> is empty or holds a NUL character.</exception>
    /// <exception cref="DirectoryNotFoundException"><paramref name="explicitDirectory"/> does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder, or a folder above it, may not be searched by this user, or a file may not be read; the message names it.</exception>
    /// <exception cref="FileNotFoundException"><paramref name="explicitDirectory"/> lacks a file.</exception>
    /// <exception cref="IOException">A download failed on every mirror.</exception>
    /// <exception cref="InvalidDataException">A file's contents are invalid (see <see cref="Mnist.Load(string)"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<MnistDataset> LoadAsync(
        string? explicitDirectory = null,
        MnistDownloader? downloader = null,
        CancellationToken cancellationToken = default)
    {
        MnistLocation location = await ResolveAsync(explicitDirectory, downloader, cancellationToken: cancellationToken).ConfigureAwait(false);
        return Mnist.Load(location.Directory, cancellationToken);
    }

    /// <summary>The cache if every file there is verified, else a download (or, with downloads off, an error naming where it looked).</summary>
    internal static async Task<MnistLocation> FromCacheOrDownloadAsync(MnistDownloader downloader, bool allowDownload, string dataSet, string repositoryFolder,
        CancellationToken cancellationToken)
    {
        if (await downloader.IsFullyCachedAsync(cancellationToken).ConfigureAwait(false))
        {
            return new MnistLocation(downloader.CacheDirectory, MnistSource.Cache);
        }

        if (!allowDownload)
        {
            throw new FileNotFoundException(
                $"{dataSet} not found: no folder was given, no {repositoryFolder} folder holds the four files above the search folders, the cache '{downloader.CacheDirectory}' lacks verified copies, and downloading is off.");
        }

        string directory = await downloader.EnsureDownloadedAsync(cancellationToken).ConfigureAwait(false);
        return new MnistLocation(directory, MnistSource.Download);
    }
}
