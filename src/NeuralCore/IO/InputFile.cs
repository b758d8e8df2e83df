using System.Runtime.InteropServices;

namespace NeuralCore.IO;

/// <summary>What a path names, as far as reading it is concerned.</summary>
internal enum FileKind
{
    /// <summary>Nothing: the path does not exist.</summary>
    Missing,

    /// <summary>A regular file (or a link to one).</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A named pipe: opening it for reading waits for a writer, for ever if none comes.</summary>
    Fifo,

    /// <summary>A character or block device (<c>/dev/zero</c> never ends).</summary>
    Device,

    /// <summary>A socket.</summary>
    Socket,

    /// <summary>Something exists, but its kind could not be told (then it is read as a file).</summary>
    Unknown,
}

/// <summary>
/// The check every reader of a user-named file makes before opening it: a named pipe would block the open for ever (and
/// with it the first Ctrl+C), a device such as <c>/dev/zero</c> would be read until memory runs out, and a directory
/// deserves a better message than "access denied".
/// </summary>
/// <remarks>
/// .NET reports no file type (a FIFO's attributes are <c>Normal</c>), so on Unix the kind comes from <c>stat</c> through
/// the runtime's own <c>libSystem.Native</c>, which ships with every .NET runtime (no added native dependency). Where that
/// entry point cannot be reached, the kind is <see cref="FileKind.Unknown"/> and readers still bound what they read.
/// </remarks>
internal static partial class InputFile
{
    // The runtime's portable stat mode bits (pal_io.h), equal to Linux's and macOS's S_IFMT values.
    private const int TypeMask = 0xF000, FifoType = 0x1000, CharacterDevice = 0x2000, DirectoryType = 0x4000,
        BlockDevice = 0x6000, RegularType = 0x8000, SocketType = 0xC000;

    private static bool s_statUnavailable;

    /// <summary>What <paramref name="path"/> names (following links).</summary>
    /// <exception cref="UnauthorizedAccessException">
    /// A folder on the path does not let this user look inside (permission denied), so whether anything is there cannot
    /// be told; the message names the path.
    /// </exception>
    public static FileKind KindOf(string path)
    {
        if (Directory.Exists(path))
        {
            return FileKind.Directory;
        }

        if (!File.Exists(path))
        {
            RequireReachable(path);
            return FileKind.Missing;
        }

        if (OperatingSystem.IsWindows() || s_statUnavailable)
        {
            return OperatingSystem.IsWindows() ? FileKind.Regular : FileKind.Unknown;
        }

        int mode;
        try
        {
            mode = StatMode(path);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_statUnavailable = true;
            return FileKind.Unknown;
        }

        return mode < 0 ? FileKind.Unknown : (mode & TypeMask) switch
        {
            RegularType => FileKind.Regular,
            DirectoryType => FileKind.Directory,
            FifoType => FileKind.Fifo,
            CharacterDevice or BlockDevice => FileKind.Device,
            SocketType => FileKind.Socket,
            _ => FileKind.Unknown,
        };
    }

    /// <summary>
    /// Throws unless <paramref name="path"/> names a regular file (or one whose kind cannot be told), with a message
    /// that names the path, what it is instead, and what was expected.
    /// </summary>
    /// <param name="path">The path.</param>
    /// <param name="what">What the file should hold, for the message ("model file", "IDX file").</param>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="path"/>.</exception>
    /// <exception cref="IOException">It is a directory, a named pipe, a device or a socket.</exception>
    /// <exception cref="UnauthorizedAccessException">A folder on the path does not let this user look inside.</exception>
    public static void RequireRegular(string path, string what)
    {
        string? instead = KindOf(path) switch
        {
            FileKind.Missing => throw new FileNotFoundException($"{path}: no such {what}.", path),
            FileKind.Directory => "a directory",
            FileKind.Fifo => "a named pipe (FIFO), which would block reading until something writes to it",
            FileKind.Device => "a device, not a file with an end",
            FileKind.Socket => "a socket",
            _ => null,
        };
        if (instead is not null)
        {
            string article = "AEIOUaeiou".Contains(what[0], StringComparison.Ordinal) ? "an" : "a";
            throw new IOException($"{path} is {instead}: {article} {what} must be a regular file.");
        }
    }

    // File.Exists and Directory.Exists are false for a path under a folder this user may not search as well as for a
    // missing one; a file there was reported as missing. Only stat tells them apart (EACCES, not ENOENT), as
    // Mnist.FindFile does for the MNIST folder.
    private static void RequireReachable(string path)
    {
        try
        {
            _ = File.GetAttributes(path);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException(
                $"{path} cannot be reached: a folder on its path does not let this user look inside (permission denied).", e);
        }
        catch (IOException)
        {
            // Missing, as File.Exists said.
        }
    }

    private static unsafe int StatMode(string path)
    {
        // Larger than the runtime's FileStatus struct in any version; only Mode, at offset 4, is read.
        byte* status = stackalloc byte[256];
        return SystemNativeStat(path, status) == 0 ? *(int*)(status + 4) : -1;
    }

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int SystemNativeStat(string path, byte* status);
}
