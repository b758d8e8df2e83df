using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NeuralCore.Tests.IO;

/// <summary>
/// Lets a test see file permissions as an ordinary user does when it runs as root (CI does): Linux checks credentials
/// per thread, so dropping CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the calling thread's effective set makes the
/// file system enforce modes on that thread alone, and putting them back restores it. The other tests' threads keep
/// root's access.
/// </summary>
internal static partial class FileAccessOverride
{
    private const uint Version3 = 0x20080522, DacOverride = 1u << 1, DacReadSearch = 1u << 2;

    /// <summary>
    /// Runs <paramref name="action"/> on the calling thread without the two capabilities; returns false, without running
    /// it, where they cannot be dropped (not Linux, or capget/capset refused) although the thread holds them.
    /// </summary>
    public static bool RunWithoutIt(Action action)
    {
        if (!OperatingSystem.IsLinux())
        {
            action();
            return true;
        }

        var header = new CapHeader { Version = Version3, Pid = 0 };
        var data = new CapData[2];
        if (CapGet(ref header, data) != 0)
        {
            return false;
        }

        uint effective = data[0].Effective;
        if ((effective & (DacOverride | DacReadSearch)) == 0)
        {
            action();
            return true;
        }

        data[0].Effective = effective & ~(DacOverride | DacReadSearch);
        if (CapSet(ref header, data) != 0)
        {
            return false;
        }

        // The capabilities come back before the action's failure is rethrown: the thread goes on to run other tests.
        ExceptionDispatchInfo? failure = null;
        try
        {
            action();
        }
        catch (Exception e)
        {
            failure = ExceptionDispatchInfo.Capture(e);
        }

        data[0].Effective = effective;
        if (CapSet(ref header, data) != 0)
        {
            throw new InvalidOperationException($"The test thread's capabilities could not be restored (errno {Marshal.GetLastPInvokeError()}).");
        }

        failure?.Throw();
        return true;
    }

    /// <summary>
    /// Gives each path its mode, runs <paramref name="action"/> as an ordinary user would see them
    /// (<see cref="RunWithoutIt"/>), and gives every path back its owner's access (0700 for a folder, 0600 for a file)
    /// whether or not the action failed, so that the test's clean-up can delete them. Fails the test where the
    /// capabilities could not be dropped.
    /// </summary>
    [UnsupportedOSPlatform("windows")]
    public static void WithModes(Action action, params (string Path, UnixFileMode Mode)[] modes)
    {
        var restore = modes.Select(m => (m.Path, Directory.Exists(m.Path)
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            : UnixFileMode.UserRead | UnixFileMode.UserWrite)).ToArray();
        try
        {
            foreach ((string path, UnixFileMode mode) in modes)
            {
                File.SetUnixFileMode(path, mode);
            }

            Assert.True(RunWithoutIt(action), "The test thread's capabilities to override file modes could not be dropped.");
        }
        finally
        {
            foreach ((string path, UnixFileMode mode) in restore)
            {
                File.SetUnixFileMode(path, mode);
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    // glibc's wrappers of the capget and capset system calls; pid 0 is the calling thread.
    [LibraryImport("libc", EntryPoint = "capget", SetLastError = true)]
    private static partial int CapGet(ref CapHeader header, [Out] CapData[] data);

    [LibraryImport("libc", EntryPoint = "capset", SetLastError = true)]
    private static partial int CapSet(ref CapHeader header, [In] CapData[] data);
}
