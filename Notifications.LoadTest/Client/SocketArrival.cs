using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Notifications.LoadTest.Client;

/// <summary>
/// When the kernel queued a socket's oldest unread bytes: Linux stamps every received packet once any socket asks for
/// it (SO_TIMESTAMPNS), and a peek with recvmsg hands the stamp back without consuming data. On loopback the stamp is
/// taken inside the sender's write, so "arrival" is when the server's bytes reached the client's socket, before the
/// load tool (sharing the cores with the server) got round to reading them.
/// </summary>
internal static partial class SocketArrival
{
    private const int SolSocket = 1;
    private const int SoTimestampNs = 35;
    private const int ScmTimestampNs = SoTimestampNs;
    private const int MsgPeek = 0x2;
    private const int MsgDontWait = 0x40;
    private const long UnixEpochTicks = 621_355_968_000_000_000;

    public static bool Supported { get; } = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>Asks the kernel to stamp what this socket receives; false where that is not available.</summary>
    public static bool TryEnable(Socket socket)
    {
        if (!Supported)
        {
            return false;
        }

        try
        {
            socket.SetRawSocketOption(SolSocket, SoTimestampNs, BitConverter.GetBytes(1));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// The Stopwatch timestamp at which the socket's oldest unread byte arrived, or 0 when nothing is queued or the
    /// kernel gave no stamp. Costs one system call.
    /// </summary>
    public static unsafe long PeekTicks(Socket socket)
    {
        byte one;
        var control = stackalloc byte[64];
        var iov = new IoVec { Base = &one, Length = 1 };
        var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 64 };
        nint received;
        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            received = RecvMsg((int)handle.DangerousGetHandle(), &msg, MsgPeek | MsgDontWait);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        if (received <= 0)
        {
            return 0;
        }

        var (nowTicks, nowNs) = ClocksNow();

        // One control message is expected; walk them anyway (CMSG_NXTHDR: lengths aligned to 8 bytes).
        var offset = 0L;
        while (offset + sizeof(CmsgHdr) <= (long)msg.ControlLength)
        {
            var header = (CmsgHdr*)(control + offset);
            if (header->Length < (nuint)sizeof(CmsgHdr))
            {
                break;
            }

            if (header->Level == SolSocket && header->Type == ScmTimestampNs)
            {
                var stamp = (TimeSpec*)(header + 1);
                var stampNs = (stamp->Seconds * 1_000_000_000) + stamp->Nanoseconds;
                var ageNs = Math.Max(0, nowNs - stampNs);
                return nowTicks - (long)(ageNs * (Stopwatch.Frequency / 1e9));
            }

            offset += ((long)header->Length + 7) & ~7L;
        }

        return 0;
    }

    /// <summary>
    /// The monotonic clock (Stopwatch) and the wall clock (what the kernel stamps with) at one moment: a pair read
    /// across a preemption would shift every stamp by it, so a pair is taken again when reading it took over 50 µs.
    /// </summary>
    private static (long Ticks, long WallNs) ClocksNow()
    {
        for (var attempt = 0; ; attempt++)
        {
            var before = Stopwatch.GetTimestamp();
            var wallNs = (DateTime.UtcNow.Ticks - UnixEpochTicks) * 100;
            var after = Stopwatch.GetTimestamp();
            if (after - before <= Stopwatch.Frequency / 20_000 || attempt == 4)
            {
                return (before + ((after - before) / 2), wallNs);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = false)]
    private static unsafe partial nint RecvMsg(int socket, MsgHdr* message, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
