using IdentityServer.Interaction;

namespace IdentityServer.Device;

/// <summary>The heading and text the verification pages show for a device authorization that cannot be (or was just) decided.</summary>
public static class DeviceMessages
{
    /// <summary>Heading and explanation for <paramref name="state"/>; every state but <see cref="DeviceVerificationState.Pending"/> has one.</summary>
    public static (string Heading, string Text) For(DeviceVerificationState state) => state switch
    {
        DeviceVerificationState.Approved => ("Device approved", "You're all set. Return to your device: it will finish signing in by itself in a few seconds."),
        DeviceVerificationState.Denied => ("Request denied", "The device was not given access. If that was a mistake, start again on the device to get a new code."),
        DeviceVerificationState.Expired => ("This code has expired", "Codes are valid for a few minutes only. Start again on your device to get a new code."),
        DeviceVerificationState.AlreadyUsed => ("This code has already been used", "Each code works once. If your device is not signed in yet, start again on it to get a new code."),
        DeviceVerificationState.ClientUnavailable => ("This application is not available", "The application that showed you this code is no longer allowed to sign in here."),
        DeviceVerificationState.Unknown => ("Code not recognised", "Check the code shown on your device and enter it again."),
        DeviceVerificationState.MfaRequired => ("Two-step verification required", "This application requires you to sign in with two-step verification or a passkey."),
        _ => ("", ""),
    };
}
